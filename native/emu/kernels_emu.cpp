// kernels/blocksim_kernels.cu compiled as C++ for the block emulator, plus a by-name registry whose
// thunks unpack cuLaunchKernel-style argument arrays (void** of pointers to the arguments).
#include "bs_emu.h"
#include "../../kernels/blocksim_kernels.cu"

#include <cstring>
#include <tuple>
#include <utility>

#include "bs_emu_run.h"

namespace {
template <typename... A, size_t... I>
void call_impl(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<A>*>(args[I])...);
}
template <typename... A>
void thunk(void* fn, void** args) {
    call_impl(reinterpret_cast<void (*)(A...)>(fn), args, std::index_sequence_for<A...>{});
}
template <typename... A>
BsEmuKernel entry(const char* name, void (*f)(A...)) {
    return BsEmuKernel{name, reinterpret_cast<void*>(f), &thunk<A...>};
}
#define BS_ENTRY(n) entry(#n, &n)
const BsEmuKernel kKernels[] = {
    BS_ENTRY(blocksim_scan_cos_q1), BS_ENTRY(blocksim_scan_cos_q2), BS_ENTRY(blocksim_scan_cos_q4),
    BS_ENTRY(blocksim_scan_cos_q8), BS_ENTRY(blocksim_scan_l2_q1),  BS_ENTRY(blocksim_scan_l2_q2),
    BS_ENTRY(blocksim_scan_l2_q4),  BS_ENTRY(blocksim_scan_l2_q8),  BS_ENTRY(blocksim_select_cos),
    BS_ENTRY(blocksim_select_l2),   BS_ENTRY(blocksim_merge_candidates),
    BS_ENTRY(blocksim_merge_final),
    BS_ENTRY(blocksim_codescan_cos_q1), BS_ENTRY(blocksim_codescan_cos_q2),
    BS_ENTRY(blocksim_codescan_cos_q4), BS_ENTRY(blocksim_codescan_cos_q8),
    BS_ENTRY(blocksim_codescan_l2_q1),  BS_ENTRY(blocksim_codescan_l2_q2),
    BS_ENTRY(blocksim_codescan_l2_q4),  BS_ENTRY(blocksim_codescan_l2_q8),
    BS_ENTRY(blocksim_rerank_cos),      BS_ENTRY(blocksim_rerank_l2),
};
}  // namespace

const BsEmuKernel* bs_emu_find_kernel(const char* name) {
    for (const auto& k : kKernels)
        if (std::strcmp(k.name, name) == 0) return &k;
    return nullptr;
}
