/* Force-included by cppcheck (tests/static/run.sh): the few macros of system
 * headers that the agent uses as statements. cppcheck is not given the system
 * include paths (it would parse all of glibc for every file), so without these
 * it stops at each use with "unknownMacro" and checks nothing after it. Each
 * is the library's own definition, copied from the Debian 12 header named. */
#ifndef WARD_CPPCHECK_H
#define WARD_CPPCHECK_H

/* jansson.h (2.14) */
#define json_object_foreach(object, key, value)                                      \
	for (key = json_object_iter_key(json_object_iter(object));                    \
	     key && (value = json_object_iter_value(json_object_key_to_iter(key)));   \
	     key = json_object_iter_key(                                              \
		     json_object_iter_next(object, json_object_key_to_iter(key))))
#define json_array_foreach(array, index, value)                                      \
	for (index = 0;                                                               \
	     index < json_array_size(array) && (value = json_array_get(array, index)); \
	     index++)
#define JSON_MAX_INDENT 0x1F
#define JSON_INDENT(n) ((n) & JSON_MAX_INDENT)

/* bpf/libbpf_common.h (1.1), less its statement expression that zeroes the
 * padding first: the same members are set. */
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

#endif
