/* main.c — fashion_mcu on a Cortex-M4: classifies one 28×28 grayscale frame with the weights compiled into
 * flash (nngen compile --inference --batch 1 --embed-weights). No file system, no heap, no threads: mem is
 * a static array, the library is built with NNGEN_SCALAR (no thread pool) and NNGEN_NO_STDIO (no file
 * helpers). `frame` stands for the buffer a camera or a serial link fills; `predicted` and `confidence` for
 * what the application reads. */
#include "fashion_mcu.h"

static float mem[FASHION_MCU_MEM_SIZE] __attribute__((aligned(64)));
static float input[FASHION_MCU_INPUT_SIZE];
static float probabilities[FASHION_MCU_OUTPUT_SIZE];
volatile uint8_t frame[FASHION_MCU_INPUT_SIZE];
volatile int predicted;
volatile float confidence;

int main(void) {
    fashion_mcu_init_embedded(mem); /* parameters from flash into mem */
    for (;;) {
        uint8_t pixels[FASHION_MCU_INPUT_SIZE];
        for (int i = 0; i < FASHION_MCU_INPUT_SIZE; i++) pixels[i] = frame[i];
        fashion_mcu_preprocess(pixels, input); /* the spec's normalize */
        fashion_mcu_predict(mem, input, probabilities);
        int best = 0;
        for (int k = 1; k < FASHION_MCU_OUTPUT_SIZE; k++)
            if (probabilities[k] > probabilities[best]) best = k;
        predicted = best;
        confidence = probabilities[best];
    }
}
