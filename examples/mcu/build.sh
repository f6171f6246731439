#!/usr/bin/env bash
# Builds examples/fashion_mcu.spec for a Cortex-M4 (arm-none-eabi-gcc and newlib: Debian gcc-arm-none-eabi,
# libnewlib-arm-none-eabi) and reports its flash and RAM sizes.
#   examples/mcu/build.sh [CHECKPOINT]    (default: out/fashion_mcu.safetensors if present, else nngen init weights)
# NNGEN: the nngen binary (default: .build/release/nngen, else .build/debug/nngen); OUT: the build folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
NNGEN=${NNGEN:-$( [ -x .build/release/nngen ] && echo .build/release/nngen || echo .build/debug/nngen )}
OUT=${OUT:-out/mcu}
mkdir -p "$OUT"
weights=${1:-out/fashion_mcu.safetensors}
if [ ! -f "$weights" ]; then
  weights="$OUT/init.safetensors"
  "$NNGEN" init examples/fashion_mcu.spec --seed 0 -o "$weights" >/dev/null
fi
"$NNGEN" compile examples/fashion_mcu.spec --inference --batch 1 --embed-weights "$weights" -o "$OUT" >/dev/null
arm-none-eabi-gcc -std=c11 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -Wall -Wextra -Werror \
  -ffp-contract=off -ffunction-sections -fdata-sections -DNNGEN_SCALAR -DNNGEN_NO_STDIO -I "$OUT" \
  examples/mcu/main.c "$OUT/fashion_mcu.c" --specs=nosys.specs -Wl,--gc-sections -lm -o "$OUT/fashion_mcu.elf"
# flash = code + read-only data + initialized data; RAM = initialized data + zeroed data (the stack comes on top).
arm-none-eabi-size -A "$OUT/fashion_mcu.elf" | awk '
  $1 == ".text" || $1 == ".rodata" || $1 == ".ARM.exidx" { flash += $2 }
  $1 == ".data" { flash += $2; ram += $2 }
  $1 == ".bss" { ram += $2 }
  END { printf "fashion_mcu for Cortex-M4: flash %d bytes (%.1f KiB), RAM %d bytes (%.1f KiB)\n", flash, flash / 1024, ram, ram / 1024 }'
