#!/usr/bin/env bash
# Installs the system packages nngen needs, if missing: libtcc (in-memory C compiler) and tcc (its
# runtime libtcc1.a and headers), gcc (the optimizing `cc` backend), zlib, the Fashion-MNIST data set, and
# clang-format (the style check of templates/), and arm-none-eabi-gcc with newlib (the Cortex-M4 build of
# examples/mcu), the aarch64 cross compiler with qemu (the test that aarch64 computes the same bits), and
# Open MPI (data-parallel training: mpirun and libmpi.so.40, which nngen loads at run time).
# Debian/Ubuntu, apt-get.
set -euo pipefail
packages=(libtcc-dev tcc libc6-dev gcc zlib1g-dev dataset-fashion-mnist clang-format gcc-arm-none-eabi libnewlib-arm-none-eabi
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
