// The CPU block-emulator backend: runs the kernels' own source (compiled as C++) on the host.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bs_backend.h"
#include "emu/bs_emu_run.h"

namespace {
class EmuBackend : public BsBackend {
public:
    explicit EmuBackend(const BsOptions& o) : opt_(o) { bs_emu_set_copy_mode(o.copyMode, 777); }
    std::string describe() override {
        return "CPU block emulator (kernels compiled as C++, 256 fibers per block, random "
               "schedule, cp.async mode " + std::to_string(opt_.copyMode) + ")";
    }
    bool isEmulator() override { return true; }
    void* alloc(size_t bytes) override {
        void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
        if (!p) throw std::runtime_error("host allocation failed");
        std::memset(p, 0xCD, bytes);  // garbage, like fresh device memory
        return p;
    }
    void release(void* p) override { std::free(p); }
    void upload(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
    void download(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
    void copyDevice(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
    void launch(const char* kernel, BsDim g, size_t smem, void** args) override {
        const BsEmuKernel* k = bs_emu_find_kernel(kernel);
        if (!k) throw std::runtime_error(std::string("no such kernel: ") + kernel);
        if (smem > maxSmemOptin())
            throw std::runtime_error(std::string(kernel) + ": shared memory " +
                                     std::to_string(smem) + " above the limit");
        std::string err;
        if (!bs_emu_launch(k->thunk, k->fn, g.x, g.y, g.z, 256, smem, args, &err))
            throw std::runtime_error(std::string(kernel) + ": " + err);
    }
    void sync() override {}
    int smCount() override { return 4; }
    size_t maxSmemOptin() override { return opt_.smemLimit ? opt_.smemLimit : 227 * 1024; }
    int occupancy(const char*, size_t) override { return 1; }
    double timeMs(const std::function<void()>& fn) override {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count();
    }
    bool hasSgemm() override { return false; }
    void sgemm(const float*, int, const float*, int, int, float*, long long) override {
        throw std::runtime_error("no SGEMM in the emulator");
    }

private:
    BsOptions opt_;
};
}  // namespace

std::unique_ptr<BsBackend> bs_make_backend(const BsOptions& opt) {
    return std::unique_ptr<BsBackend>(new EmuBackend(opt));
}
