// Fiber scheduler behind native/emu/bs_emu.h (see there).
#include "bs_emu.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bs_emu_run.h"

BsEmuThread* bs_emu_current = nullptr;

// ---- context switching ----------------------------------------------------------------------------
// On x86-64 a fiber switch saves only the callee-saved registers and the stack pointer (no signal-
// mask system calls as in swapcontext, which made the emulator 10x slower). Elsewhere: ucontext.
#if defined(__x86_64__) && defined(__GNUC__)
#define BS_EMU_FAST_SWITCH 1
extern "C" void bs_emu_ctx_switch(void** saveSp, void* loadSp);
asm(R"(
    .text
    .globl bs_emu_ctx_switch
    .type bs_emu_ctx_switch,@function
bs_emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bs_emu_ctx_switch, .-bs_emu_ctx_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");
#endif

namespace {

struct Copy {
    void* dst;
    const void* src;
};

enum State { RUNNABLE = 0, AT_BARRIER = 1, DONE = 2 };

struct Fiber {
    ucontext_t ctx;
    void* sp = nullptr;
    BsEmuThread t;
    State state = RUNNABLE;
    const char* file = nullptr;  // source site of the barrier it waits at
    int line = 0;
    int kind = 0;          // 0 __syncthreads, 1 __syncthreads_or
    int pred = 0;
    std::vector<Copy> open;                 // copies issued since the last commit
    std::vector<std::vector<Copy>> groups;  // committed, not yet performed
    std::vector<char> stack;
};

#ifndef BS_EMU_FAST_SWITCH
ucontext_t g_main;
#endif
void* g_mainSp = nullptr;
std::vector<Fiber> g_fibers;
Fiber* g_cur = nullptr;
std::vector<unsigned char> g_smem;
size_t g_smemBytes = 0;
std::mt19937_64 g_rng(12345);
int g_copyMode = 2;  // 0 immediate, 1 deferred to the wait, 2 random per group
void (*g_thunk)(void* fn, void** args) = nullptr;
void* g_fn = nullptr;
void** g_args = nullptr;
std::string g_error;
int g_barrierResult = 0;
const size_t kGuard = 64;
const unsigned char kGuardByte = 0xA5;

void perform(std::vector<Copy>& v) {
    for (auto& c : v) std::memcpy(c.dst, c.src, 16);
    v.clear();
}

void trampoline() {
    Fiber* f = g_cur;
    g_thunk(g_fn, g_args);
    // a kernel must not exit with copies in flight that it never waited for
    if (!f->open.empty() || !f->groups.empty()) {
        bool any = !f->open.empty();
        for (auto& g : f->groups) any |= !g.empty();
        if (any) g_error = "thread exited with un-waited cp.async copies";
    }
    f->state = DONE;
#ifdef BS_EMU_FAST_SWITCH
    bs_emu_ctx_switch(&f->sp, g_mainSp);  // never resumed
    std::abort();
#endif
    // returning switches to uc_link (g_main)
}

void toMain(Fiber* f) {
#ifdef BS_EMU_FAST_SWITCH
    bs_emu_ctx_switch(&f->sp, g_mainSp);
#else
    swapcontext(&f->ctx, &g_main);
#endif
}

void toFiber(Fiber* f) {
#ifdef BS_EMU_FAST_SWITCH
    bs_emu_ctx_switch(&g_mainSp, f->sp);
#else
    swapcontext(&g_main, &f->ctx);
#endif
}

void initFiber(Fiber* f) {
#ifdef BS_EMU_FAST_SWITCH
    // initial frame: 6 saved registers, then the "return address" = trampoline, at a 16-byte
    // aligned slot so that the trampoline starts with the stack alignment of a called function
    uintptr_t top = (uintptr_t)(f->stack.data() + f->stack.size());
    top &= ~(uintptr_t)15;
    void** slot = (void**)(top - 32);  // 16-byte aligned; one spare slot above
    slot[0] = (void*)&trampoline;
    void** regs = slot - 6;
    for (int i = 0; i < 6; ++i) regs[i] = nullptr;
    f->sp = regs;
#else
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack.data();
    f->ctx.uc_stack.ss_size = f->stack.size();
    f->ctx.uc_link = &g_main;
    makecontext(&f->ctx, (void (*)())trampoline, 0);
#endif
}

}  // namespace

void bs_emu_syncthreads(const char* file, int line) {
    Fiber* f = g_cur;
    f->state = AT_BARRIER;
    f->file = file;
    f->line = line;
    f->kind = 0;
    toMain(f);
}

int bs_emu_syncthreads_or(int pred, const char* file, int line) {
    Fiber* f = g_cur;
    f->state = AT_BARRIER;
    f->file = file;
    f->line = line;
    f->kind = 1;
    f->pred = pred;
    toMain(f);
    return g_barrierResult;
}

unsigned char* bs_emu_dyn_smem() { return g_smem.data() + kGuard; }

void bs_emu_cp_async16(void* dst, const void* src) {
    unsigned char* d = (unsigned char*)dst;
    unsigned char* lo = g_smem.data() + kGuard;
    if (d < lo || d + 16 > lo + g_smemBytes || ((uintptr_t)dst & 15) || ((uintptr_t)src & 15)) {
        g_error = "cp.async: destination outside dynamic shared memory or misaligned";
        return;
    }
    g_cur->open.push_back({dst, src});
}

void bs_emu_cp_async_commit() {
    Fiber* f = g_cur;
    bool now = g_copyMode == 0 || (g_copyMode == 2 && (g_rng() & 1));
    if (now) {
        perform(f->open);
        f->groups.emplace_back();
    } else {
        f->groups.push_back(std::move(f->open));
        f->open.clear();
    }
}

void bs_emu_cp_async_wait(int n) {
    Fiber* f = g_cur;
    while ((int)f->groups.size() > n) {
        perform(f->groups.front());
        f->groups.erase(f->groups.begin());
    }
}

void bs_emu_set_copy_mode(int mode, unsigned long long seed) {
    g_copyMode = mode;
    g_rng.seed(seed);
}

// Runs one kernel launch: every block of the grid, one after another.
bool bs_emu_launch(void (*thunk)(void*, void**), void* fn, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, size_t smemBytes, void** args, std::string* err) {
    const size_t kStack = 256 * 1024;
    if (g_fibers.size() != bx) {
        g_fibers.clear();
        g_fibers.resize(bx);
        for (auto& f : g_fibers) f.stack.resize(kStack);
    }
    g_thunk = thunk;
    g_fn = fn;
    g_args = args;
    g_error.clear();
    g_smemBytes = smemBytes;
    g_smem.assign(smemBytes + 2 * kGuard, kGuardByte);
    std::vector<unsigned> order(bx);
    for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
            for (unsigned x = 0; x < gx; ++x) {
                // shared memory starts as garbage, as on the device
                for (size_t i = 0; i < smemBytes; ++i) g_smem[kGuard + i] = (unsigned char)g_rng();
                for (unsigned t = 0; t < bx; ++t) {
                    Fiber& f = g_fibers[t];
                    f.t.tIdx = {t, 0, 0};
                    f.t.bIdx = {x, y, z};
                    f.t.bDim = {bx, 1, 1};
                    f.t.gDim = {gx, gy, gz};
                    f.state = RUNNABLE;
                    f.pred = 0;
                    f.open.clear();
                    f.groups.clear();
                    initFiber(&f);
                    order[t] = t;
                }
                for (;;) {
                    std::shuffle(order.begin(), order.end(), g_rng);
                    for (unsigned t : order) {
                        Fiber& f = g_fibers[t];
                        if (f.state != RUNNABLE) continue;
                        g_cur = &f;
                        bs_emu_current = &f.t;
                        toFiber(&f);
                        if (!g_error.empty()) break;
                    }
                    if (!g_error.empty()) break;
                    unsigned atBarrier = 0, done = 0;
                    for (auto& f : g_fibers) {
                        atBarrier += f.state == AT_BARRIER;
                        done += f.state == DONE;
                    }
                    if (atBarrier == 0) break;  // all done
                    if (done != 0) {
                        g_error = "divergent __syncthreads: some threads exited while others wait";
                        break;
                    }
                    // every thread must wait at the same barrier (same call site, same kind)
                    const Fiber& f0 = g_fibers[0];
                    int orv = 0;
                    for (auto& f : g_fibers) {
                        if (f.line != f0.line || f.kind != f0.kind ||
                            std::strcmp(f.file, f0.file) != 0) {
                            char b[512];
                            std::snprintf(b, sizeof b,
                                          "divergent barriers: threads wait at different "
                                          "__syncthreads (%s:%d and %s:%d)",
                                          f0.file, f0.line, f.file, f.line);
                            g_error = b;
                        }
                        orv |= f.pred != 0;
                    }
                    if (!g_error.empty()) break;
                    g_barrierResult = orv;
                    for (auto& f : g_fibers) {
                        f.state = RUNNABLE;
                        f.pred = 0;
                    }
                }
                for (size_t i = 0; i < kGuard; ++i)
                    if (g_smem[i] != kGuardByte || g_smem[kGuard + smemBytes + i] != kGuardByte)
                        g_error = "shared memory written outside the dynamic allocation";
                if (!g_error.empty()) {
                    char b[128];
                    std::snprintf(b, sizeof b, " (block %u,%u,%u)", x, y, z);
                    *err = g_error + b;
                    return false;
                }
            }
    return true;
}
