#ifndef BATCHAUG_CTURBOJPEG_SHIM_H
#define BATCHAUG_CTURBOJPEG_SHIM_H
// libjpeg-turbo: its TurboJPEG API (encoding, in the tests) and, below, reading a header and
// decoding through its libjpeg API, which can stop after the rows a step needs. libjpeg reports
// errors by longjmp, which Swift cannot catch: batchaug_jpeg_read catches them and returns the message.
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

/// Reads the JPEG file `data` of `size` bytes: its header into `*width`, `*height` and
/// `*color_space` (a J_COLOR_SPACE), and then, if `output` is not NULL, its first `rows` rows at
/// 1/`denominator` of its size (1, 2, 4 or 8), as RGB (3 bytes a pixel) or, with `cmyk`, as the
/// file's CMYK (4 bytes), `row_stride` bytes a row; it stops there (rows below are not decoded).
/// Returns 0, or -1 with the reason in `message` (JMSG_LENGTH_MAX bytes); `*truncated` is set if
/// the data ended before the rows were complete.
static int batchaug_jpeg_read(const unsigned char *data, unsigned long size, int *width, int *height, int *color_space,
                              int denominator, int cmyk, unsigned char *output, unsigned long row_stride, int rows,
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
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = batchaug_jpeg_error_exit;
    errors.manager.emit_message = batchaug_jpeg_emit_message;
    jpeg_create_decompress(&info);
    progress.progress_monitor = batchaug_jpeg_progress;
    info.progress = &progress;
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    *color_space = (int)info.jpeg_color_space;
    if (output) {
        info.scale_num = 1;
        info.scale_denom = (unsigned int)denominator;
        info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
        jpeg_start_decompress(&info);
        while ((int)info.output_scanline < rows && info.output_scanline < info.output_height) {
            JSAMPROW row = output + (unsigned long)info.output_scanline * row_stride;
            jpeg_read_scanlines(&info, &row, 1);
        }
        *truncated = errors.truncated;
    }
    jpeg_destroy_decompress(&info);
    return 0;
}
#endif
