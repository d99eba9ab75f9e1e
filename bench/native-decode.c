/*
 * Bare libjpeg-turbo decoding to RGB, for `npm run bench`: what this machine's
 * native JPEG decoder does with no libvips and no hashing (the C++ reference
 * decodes with libjpeg-turbo in-process). Decodes every file named on the
 * command line and prints the seconds it took.
 * Built by bench/hash.mjs when a C compiler and libjpeg headers are present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long check = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) { perror(argv[i]); return 1; }
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_decompress(&c);
    jpeg_stdio_src(&c, f);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    size_t stride = (size_t)c.output_width * c.output_components;
    unsigned char *pixels = malloc(stride * c.output_height);
    while (c.output_scanline < c.output_height) {
      unsigned char *row = pixels + stride * c.output_scanline;
      jpeg_read_scanlines(&c, &row, 1);
    }
    check += pixels[stride * (c.output_height / 2)];
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    fclose(f);
    free(pixels);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.4f %lu\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, check);
  return 0;
}
