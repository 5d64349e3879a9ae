#ifndef BATCHAUG_CTURBOJPEG_SHIM_H
#define BATCHAUG_CTURBOJPEG_SHIM_H
// libjpeg-turbo: its TurboJPEG API (encoding, in the tests) and, below, reading a header and
// decoding through its libjpeg API, which can stop after the rows a step needs. libjpeg reports
// errors by longjmp, which Swift cannot catch: these C functions catch them and return the message.
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>
#include <jpeglib.h>
#include <jerror.h>

/// How a decode went: 0, or -1 with `message` set; `truncated` if the data ended early.
typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    int truncated;
    char message[JMSG_LENGTH_MAX];
} batchaug_jpeg_errors;

static void batchaug_jpeg_error_exit(j_common_ptr info) {
    batchaug_jpeg_errors *errors = (batchaug_jpeg_errors *)info->err;
    (*info->err->format_message)(info, errors->message);
    longjmp(errors->jump, 1);
}

static void batchaug_jpeg_emit_message(j_common_ptr info, int level) {
    // Warnings (level -1) leave a complete image; "premature end of file" does not (the rest is grey).
    if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) ((batchaug_jpeg_errors *)info->err)->truncated = 1;
}

/// Progressive files of more than 500 scans are refused (as TurboJPEG's TJFLAG_LIMITSCANS does).
static void batchaug_jpeg_progress(j_common_ptr info) {
    if (((j_decompress_ptr)info)->input_scan_number > 500) {
        batchaug_jpeg_errors *errors = (batchaug_jpeg_errors *)info->err;
        snprintf(errors->message, JMSG_LENGTH_MAX, "more than 500 progressive scans");
        longjmp(errors->jump, 1);
    }
}

/// Sets up `info` and `errors` to read the JPEG file `data` (after a setjmp on `errors->jump`).
static void batchaug_jpeg_start(struct jpeg_decompress_struct *info, batchaug_jpeg_errors *errors,
                                struct jpeg_progress_mgr *progress, const unsigned char *data, unsigned long size) {
    info->err = jpeg_std_error(&errors->manager);
    errors->manager.error_exit = batchaug_jpeg_error_exit;
    errors->manager.emit_message = batchaug_jpeg_emit_message;
    jpeg_create_decompress(info);
    progress->progress_monitor = batchaug_jpeg_progress;
    info->progress = progress;
    jpeg_mem_src(info, data, size);
}

/// Reads the header of the JPEG file `data` of `size` bytes: its width, height and colour space
/// (a J_COLOR_SPACE). Returns 0, or -1 with the reason in `message` (JMSG_LENGTH_MAX bytes).
static int batchaug_jpeg_header(const unsigned char *data, unsigned long size, int *width, int *height,
                                int *color_space, char *message) {
    struct jpeg_decompress_struct info;
    struct jpeg_progress_mgr progress;
    batchaug_jpeg_errors errors;
    memset(&errors, 0, sizeof errors);
    if (setjmp(errors.jump)) {
        jpeg_destroy_decompress(&info);
        memcpy(message, errors.message, JMSG_LENGTH_MAX);
        return -1;
    }
    batchaug_jpeg_start(&info, &errors, &progress, data, size);
    jpeg_read_header(&info, TRUE);
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    *color_space = (int)info.jpeg_color_space;
    jpeg_destroy_decompress(&info);
    return 0;
}

/// Decodes the JPEG file `data` of `size` bytes at 1/`denominator` of its size (1, 2, 4 or 8),
/// as RGB (3 bytes a pixel) or, with `cmyk`, as the file's CMYK (4 bytes), into `output` with
/// `row_stride` bytes a row: its first `rows` rows, and stops there (rows below are not decoded).
/// Returns 0, or -1 with the reason in `message` (JMSG_LENGTH_MAX bytes); `*truncated` is set if
/// the data ended before the rows were complete.
static int batchaug_jpeg_decode_rows(const unsigned char *data, unsigned long size, int denominator, int cmyk,
                                     unsigned char *output, unsigned long row_stride, int rows,
                                     int *truncated, char *message) {
    struct jpeg_decompress_struct info;
    struct jpeg_progress_mgr progress;
    batchaug_jpeg_errors errors;
    memset(&errors, 0, sizeof errors);
    *truncated = 0;
    if (setjmp(errors.jump)) {
        jpeg_destroy_decompress(&info);
        memcpy(message, errors.message, JMSG_LENGTH_MAX);
        return -1;
    }
    batchaug_jpeg_start(&info, &errors, &progress, data, size);
    jpeg_read_header(&info, TRUE);
    info.scale_num = 1;
    info.scale_denom = (unsigned int)denominator;
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&info);
    while ((int)info.output_scanline < rows && info.output_scanline < info.output_height) {
        JSAMPROW row = output + (unsigned long)info.output_scanline * row_stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    *truncated = errors.truncated;
    jpeg_abort_decompress(&info);
    jpeg_destroy_decompress(&info);
    return 0;
}
#endif
