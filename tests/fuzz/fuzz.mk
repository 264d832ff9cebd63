# Fuzz targets, included by the top Makefile. (to be written)
