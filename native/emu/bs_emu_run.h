// Host-side entry points of the block emulator (native/emu/bs_emu.cpp).
#pragma once
#include <cstddef>
#include <string>

// mode: 0 = cp.async copies land at commit, 1 = at the matching wait, 2 = randomly either way.
void bs_emu_set_copy_mode(int mode, unsigned long long seed);
bool bs_emu_launch(void (*thunk)(void*, void**), void* fn, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, size_t smemBytes, void** args, std::string* err);

struct BsEmuKernel {
    const char* name;
    void* fn;
    void (*thunk)(void*, void**);
};
// The kernels of kernels/blocksim_kernels.cu compiled as C++ (native/emu/kernels_emu.cpp).
const BsEmuKernel* bs_emu_find_kernel(const char* name);
