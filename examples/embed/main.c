/* main.c — fashion_mlp used from plain C, with nothing but its generated library (generated/fashion_mlp):
 * load a checkpoint written by `nngen train`, classify Fashion-MNIST test images read from their IDX files,
 * then take a few training steps and save the result. Build with `make` (see the Makefile).
 *
 *   ./embed CHECKPOINT IMAGES.gz LABELS.gz [COUNT] [OUT]
 *
 * prints one line per image, `image I: class K (p = P)`, the accuracy, the loss of each training step, and
 * writes the trained parameters to OUT (default embed-trained.safetensors), which `nngen eval` reads. */
#include "fashion_mlp.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* `count` bytes of a gzip-compressed IDX file after its `skip`-byte header; 0 on success. */
static int read_idx(const char *path, size_t skip, unsigned char *out, size_t count) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 1;
    unsigned char header[16];
    int ok = gzread(f, header, (unsigned)skip) == (int)skip && gzread(f, out, (unsigned)count) == (int)count;
    gzclose(f);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s CHECKPOINT IMAGES.gz LABELS.gz [COUNT] [OUT]\n", argv[0]);
        return 2;
    }
    const long batch = FASHION_MLP_BATCH, features = FASHION_MLP_INPUT_SIZE / FASHION_MLP_BATCH;
    const long count = argc > 4 ? atol(argv[4]) / batch * batch : batch; /* whole batches */
    const char *out_path = argc > 5 ? argv[5] : "embed-trained.safetensors";

    /* One block of memory holds everything: parameters, gradients, optimizer state, activations. */
    float *mem = aligned_alloc(64, (sizeof(float) * FASHION_MLP_MEM_SIZE + 63) / 64 * 64);
    unsigned char *pixels = malloc((size_t)(count * features));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)count);
    unsigned char *label_bytes = malloc((size_t)count);
    if (!mem || !pixels || !labels || !label_bytes || count <= 0) return 3;
    memset(mem, 0, sizeof(float) * FASHION_MLP_MEM_SIZE);

    int code = fashion_mlp_load_file(mem, argv[1]);
    if (code) {
        fprintf(stderr, "%s: %s\n", argv[1], fashion_mlp_error(code));
        return 1;
    }
    if (read_idx(argv[2], 16, pixels, (size_t)(count * features)) ||
        read_idx(argv[3], 8, label_bytes, (size_t)count)) {
        fprintf(stderr, "cannot read %ld images from %s and %s\n", count, argv[2], argv[3]);
        return 1;
    }
    for (long i = 0; i < count; i++) labels[i] = label_bytes[i];

    /* Classify: raw bytes → the spec's normalize → test-mode forward → class probabilities. */
    float input[FASHION_MLP_INPUT_SIZE], probabilities[FASHION_MLP_OUTPUT_SIZE];
    const long classes = FASHION_MLP_OUTPUT_SIZE / FASHION_MLP_BATCH;
    long correct = 0;
    for (long start = 0; start < count; start += batch) {
        fashion_mlp_preprocess(pixels + start * features, input);
        fashion_mlp_predict(mem, input, probabilities);
        for (long n = 0; n < batch; n++) {
            long best = 0;
            for (long k = 1; k < classes; k++)
                if (probabilities[n * classes + k] > probabilities[n * classes + best]) best = k;
            correct += best == labels[start + n];
            printf("image %ld: class %ld (p = %a)\n", start + n, best,
                   (double)probabilities[n * classes + best]);
        }
    }
    printf("accuracy %.2f%% (%ld of %ld)\n", 100.0 * (double)correct / (double)count, correct, count);

    /* Train a few steps on the first batch, with the spec's optimizer and learning-rate schedule. */
    const int steps = 3;
    fashion_mlp_preprocess(pixels, input);
    for (int step = 0; step < steps; step++) {
        const double lr = fashion_mlp_learning_rate(step, steps, steps);
        printf("step %d: loss %a (lr %g)\n", step + 1,
               fashion_mlp_train_step(mem, input, labels, lr, step + 1, 42), lr);
    }
    code = fashion_mlp_save_file(mem, out_path);
    if (code) {
        fprintf(stderr, "%s: %s\n", out_path, fashion_mlp_error(code));
        return 1;
    }
    printf("wrote %s\n", out_path);
    free(mem);
    free(pixels);
    free(labels);
    free(label_bytes);
    return 0;
}
