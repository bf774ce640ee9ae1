#pragma once
// RAII for HDF5 C API identifiers (hid_t) and scoped capture of the HDF5 error stack.
//
// Thread rules: Debian's libhdf5 is the serial, non-thread-safe build: every HDF5 call in the
// process must come from one thread at a time. Hdf5ErrorCapture changes the library-wide automatic
// error printing while it lives, which is another reason to keep HDF5 work on one thread.
#include <hdf5.h>

#include <string>
#include <utility>

namespace satsal {

/// Owns one hid_t and closes it with the matching H5*close function, exactly once: after close()
/// the handle is empty whether or not the close succeeded.
///
/// When a close fails (a flush on a full disk), libhdf5 keeps the object registered. Its own exit
/// hook (H5_term_library) would then close every remaining object a second time and crashes on a
/// file whose close already failed (SIGSEGV in H5F__close_cb after "No space left on device").
/// satsal therefore turns that exit hook off before HDF5 initializes (a static initializer in
/// Hdf5Handle.cpp calls H5dont_atexit): every HDF5 object is closed by its owner, once; an object
/// whose close failed is left to the operating system at exit.
class Hdf5Handle {
public:
    using Closer = herr_t (*)(hid_t);
    Hdf5Handle() = default;
    Hdf5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
    ~Hdf5Handle() { reset(); }
    Hdf5Handle(Hdf5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
    Hdf5Handle& operator=(Hdf5Handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, H5I_INVALID_HID);
            closer_ = o.closer_;
        }
        return *this;
    }
    Hdf5Handle(const Hdf5Handle&) = delete;
    Hdf5Handle& operator=(const Hdf5Handle&) = delete;

    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }
    /// Closes now and reports the close function's result (>= 0 is success).
    herr_t close() {
        herr_t status = 0;
        if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
        id_ = H5I_INVALID_HID;
        return status;
    }
    void reset() noexcept { (void)close(); }

private:
    hid_t id_ = H5I_INVALID_HID;
    Closer closer_ = nullptr;
};

/// While alive: HDF5 does not print its error stack to stderr; message() returns the stack's
/// descriptions (innermost last) so they can go into an exception.
class Hdf5ErrorCapture {
public:
    Hdf5ErrorCapture();
    ~Hdf5ErrorCapture();
    Hdf5ErrorCapture(const Hdf5ErrorCapture&) = delete;
    Hdf5ErrorCapture& operator=(const Hdf5ErrorCapture&) = delete;
    /// "HDF5: <outermost function>: <description>: <operating system error>" when a system call
    /// failed (e.g. "No space left on device"), else "HDF5: <function>: <description>; ..." without
    /// repeats, at most a few hundred characters; "" when the stack is empty.
    std::string message() const;
    /// " (" + message() + ")" or "".
    std::string suffix() const;

private:
    H5E_auto2_t saved_func_ = nullptr;
    void* saved_data_ = nullptr;
};

}  // namespace satsal
