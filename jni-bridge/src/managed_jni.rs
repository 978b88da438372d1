//! JNI entry points of `dev.tmrt.memory.MemoryManager` (creation, and the native pool's own
//! checks that tests reach) and of `dev.tmrt.memory.Pages` (its pages: what the shared page table
//! does not do in Java, and the exact errors of refused operations): each converts its arguments,
//! calls one operation of [`runtime::managed::SlotPool`], and converts the result. Policy lives
//! in `runtime`; the Java classes do the owner records and the segment objects.
//!
//! A memory manager's pool is an `Arc<SlotPool>` whose raw pointer is the `handle` of its Java
//! `Pages`, which frees it from a `Cleaner` once it is unreachable and fences every call with
//! `Reference.reachabilityFence`, so a handle passed in here is always alive. Batches cross JNI
//! once: page handles travel as `long[]` of [`Page::to_bits`] values.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jni::objects::{JClass, JLongArray};
use jni::sys::{jint, jlong, jlongArray, jobject};
use jni::JNIEnv;
use runtime::managed::{ManagedMemoryError, OwnerId, Page, PageSize, SlotPool, UsageReport};

use crate::ffi::{jni_entry, long_array, long_prefix, JavaError};

pub mod slot_pages;

static NEXT_MANAGER: AtomicU64 = AtomicU64::new(1);
/// Native pools alive (created and not yet freed by a Cleaner), for tests.
static LIVE_POOLS: AtomicU64 = AtomicU64::new(0);

fn error(e: ManagedMemoryError) -> JavaError {
    JavaError::new(e.java_class(), e.to_string())
}

/// The pool behind a handle from `nativeCreate`.
fn pool<'a>(handle: jlong) -> Result<&'a SlotPool, JavaError> {
    if handle == 0 {
        return Err(JavaError::illegal_state("MemoryManager has no native pool"));
    }
    // SAFETY: `handle` came from `Arc::into_raw` in `nativeCreate` and is only released by
    // `nativeFree`, which the Java class calls from its Cleaner after the MemoryManager object
    // became unreachable; every native call is fenced with `Reference.reachabilityFence(this)`,
    // so the Arc is alive for the whole call. `SlotPool` is `Sync`.
    Ok(unsafe { &*(handle as *const SlotPool) })
}

/// A byte count from Java: negative is an `IllegalArgumentException` naming `what`, never a
/// wrap-around to a huge `u64`.
fn byte_count(bytes: jlong, what: &str) -> Result<u64, JavaError> {
    u64::try_from(bytes)
        .map_err(|_| JavaError::illegal_argument(format!("Cannot {what} a negative number of bytes: {bytes}")))
}

fn owner(id: jlong) -> OwnerId {
    OwnerId(id as u64)
}

fn usage_triples<'local>(env: &mut JNIEnv<'local>, report: &UsageReport) -> Result<jlongArray, JavaError> {
    let mut flat = Vec::with_capacity(report.owners.len() * 3);
    for o in &report.owners {
        flat.extend([o.owner.0 as jlong, jlong::from(o.pages), o.reserved_bytes as jlong]);
    }
    long_array(env, &flat)
}

/// A pool for a Java memory manager of `size` bytes in pages of `page_size` (checked: negative
/// values and bad page sizes are `IllegalArgumentException`s), named `memory manager N`.
fn new_pool(size: jlong, page_size: jint) -> Result<SlotPool, JavaError> {
    let size = u64::try_from(size)
        .map_err(|_| JavaError::illegal_argument(format!("Size of total memory must be non-negative: {size}")))?;
    let page_size = u64::try_from(page_size)
        .map_err(|_| JavaError::illegal_argument(format!("Page size must be positive: {page_size}")))?;
    let page_size = PageSize::new(page_size).map_err(error)?;
    let name = format!("memory manager {}", NEXT_MANAGER.fetch_add(1, Ordering::Relaxed));
    let pool = SlotPool::new(name, size, page_size).map_err(error)?;
    LIVE_POOLS.fetch_add(1, Ordering::Relaxed);
    Ok(pool)
}

/// Drops the pool behind a handle (the Java side's Cleaner calls this once).
fn free_pool(handle: jlong) {
    if handle != 0 {
        // SAFETY: the Cleaner calls this exactly once, after the Java object holding the handle
        // became unreachable, so no other call can use the handle any more; it came from
        // `Arc::into_raw` when the pool was made. Dropping the pool closes it (the mapping is
        // retired, never unmapped).
        drop(unsafe { Arc::from_raw(handle as *const SlotPool) });
        LIVE_POOLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pool's invariant check as text: `"ok retained=N"` (N warm free pages) or the violation.
fn check_text(pool: &SlotPool, quiet: bool) -> String {
    let result = if quiet {
        pool.check_quiescent()
    } else {
        pool.check_invariants()
    };
    match result {
        Ok(()) => format!("ok retained={}", pool.retained_free_pages()),
        Err(violation) => violation,
    }
}

/// `static native long nativeCreate(long sizeBytes, int pageSize)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_MemoryManager_nativeCreate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    size: jlong,
    page_size: jint,
) -> jlong {
    jni_entry(&mut env, 0, |_| {
        Ok(Arc::into_raw(Arc::new(new_pool(size, page_size)?)) as jlong)
    })
}

/// `static native void nativeFree(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        free_pool(handle);
        Ok(())
    })
}

/// `static native long nativeLivePools()`: native pools not yet freed (for tests).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_MemoryManager_nativeLivePools<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(LIVE_POOLS.load(Ordering::Relaxed) as jlong))
}

/// `static native long nativeBase(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeBase<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.base_address() as jlong))
}

/// `static native long nativeAllocateOne(long handle, long owner)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeAllocateOne<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    owner_id: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| {
        Ok(pool(handle)?.allocate_page(owner(owner_id)).map_err(error)?.to_bits() as jlong)
    })
}

/// `static native void nativeAllocate(long handle, long owner, int n, long[] out)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeAllocate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    owner_id: jlong,
    n: jint,
    out: JLongArray<'local>,
) {
    jni_entry(&mut env, (), |env| {
        let pool = pool(handle)?;
        let n = u32::try_from(n).map_err(|_| JavaError::illegal_argument(format!("negative page count {n}")))?;
        // More pages than the pool has is the pool's error, whatever the array: check it first.
        if n <= pool.total_pages() && env.get_array_length(&out)? < n as jint {
            return Err(JavaError::illegal_argument("output array shorter than the page count"));
        }
        let mut bits: Vec<jlong> = Vec::with_capacity(n.min(pool.total_pages()) as usize);
        pool.allocate_with(owner(owner_id), n, |p| bits.push(p.to_bits() as jlong))
            .map_err(error)?;
        if let Err(e) = env.set_long_array_region(&out, 0, &bits) {
            // Cannot hand the pages to Java: give them back rather than leak them.
            let pages: Vec<Page> = bits.iter().map(|b| pool.page_from_bits(*b as u64)).collect();
            let _ = pool.release_batch(&pages);
            return Err(e.into());
        }
        Ok(())
    })
}

/// `static native void nativeReleaseOne(long handle, long bits)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeReleaseOne<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    bits: jlong,
) {
    jni_entry(&mut env, (), |_| {
        let pool = pool(handle)?;
        pool.release(pool.page_from_bits(bits as u64)).map_err(error)
    })
}

/// `static native void nativeRelease(long handle, long[] bits, int count)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeRelease<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    bits: JLongArray<'local>,
    count: jint,
) {
    jni_entry(&mut env, (), |env| {
        let pool = pool(handle)?;
        let raw = long_prefix(env, &bits, count)?;
        let pages: Vec<Page> = raw.iter().map(|b| pool.page_from_bits(*b as u64)).collect();
        pool.release_batch(&pages).map_err(error)
    })
}

/// `static native void nativeReserve(long handle, long owner, long bytes)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_MemoryManager_nativeReserve<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    owner_id: jlong,
    bytes: jlong,
) {
    jni_entry(&mut env, (), |_| {
        pool(handle)?
            .reserve_memory(owner(owner_id), byte_count(bytes, "reserve")?)
            .map_err(error)
    })
}

/// `static native void nativeReleaseMemory(long handle, long owner, long bytes)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_MemoryManager_nativeReleaseMemory<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    owner_id: jlong,
    bytes: jlong,
) {
    jni_entry(&mut env, (), |_| {
        pool(handle)?
            .release_memory(owner(owner_id), byte_count(bytes, "release")?)
            .map_err(error)
    })
}

/// `static native String nativeName(long handle)`: the pool's name, as its errors print it.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeName<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let name = pool(handle)?.slot().to_string();
        Ok(env.new_string(name)?.into_raw())
    })
}

/// `static native long nativeTableAddress(long handle)`: where the pool's shared page table is
/// (`runtime::managed::protocol`); it lives as long as the pool.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeTableAddress<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.page_table().0 as jlong))
}

/// `static native long nativeTableLength(long handle)`: the page table's length in bytes.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeTableLength<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.page_table().1 as jlong))
}

/// `static native void nativeReturnMemoryIfDue(long handle)`: a Java release found the warm
/// pages may exceed the policy (`SlotPool::return_memory_if_due`).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeReturnMemoryIfDue<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        pool(handle)?.return_memory_if_due();
        Ok(())
    })
}

/// `static native long[] nativeShutdown(long handle)`: closes the pool, returns the leak triples.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeShutdown<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let leaks = pool(handle)?.close();
        usage_triples(env, &leaks)
    })
}

/// `static native ByteBuffer nativeBuffer(long handle, long bits)`: a direct buffer over a held
/// page.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_Pages_nativeBuffer<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    bits: jlong,
) -> jobject {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let pool = pool(handle)?;
        let addr = pool.page_address(pool.page_from_bits(bits as u64)).map_err(error)?;
        let len = pool.page_size().bytes() as usize;
        // SAFETY: `addr` is the start of a page held right now, `len` (the page size) bytes
        // inside the pool's mapping; the mapping is never unmapped (runtime::managed docs), so
        // the buffer's memory stays valid for the life of the JVM whatever happens to the page.
        let buffer = unsafe { env.new_direct_byte_buffer(addr.as_ptr(), len)? };
        Ok(buffer.into_raw())
    })
}

/// `static native String nativeCheck(long handle, boolean quiet)`: the pool's invariant check
/// (`check_quiescent` when `quiet`, else `check_invariants`), for tests: `"ok retained=N"`
/// (N warm free pages) or the first violation.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_MemoryManager_nativeCheck<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    quiet: jni::sys::jboolean,
) -> jobject {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let text = check_text(pool(handle)?, quiet != 0);
        Ok(env.new_string(text)?.into_raw())
    })
}
