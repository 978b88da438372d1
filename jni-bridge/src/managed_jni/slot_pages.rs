//! JNI entry points of `dev.tmrt.memory.SlotPages`: the native side of one slot pool as the Java
//! faces of managed memory use it (Flink's `MemoryManager` as tmrt substitutes it, and tmrt's own
//! `MemoryManager`). Each entry converts, calls one [`SlotPool`] operation and converts back;
//! "over budget" is a status code here, not an exception, because each Java face words it its
//! own way (the drop-in with Flink's exact texts).
//!
//! Every pool made here is also recorded in [`live_pools`], so that the agent can show per-slot
//! figures (pages in use, budget, reserved bytes) and per-owner holdings without touching Java.

use std::sync::{Arc, Weak};

use jni::objects::{JClass, JLongArray, JObject};
use jni::sys::{jboolean, jint, jlong, jlongArray, jobject};
use jni::JNIEnv;
use parking_lot::Mutex;
use runtime::managed::{ManagedMemoryError, Page, PoolFigures, SlotPool, UsageReport};

use super::{error, owner, pool, usage_triples};
use crate::ffi::{jni_entry, long_prefix, JavaError};

/// Pools made through `SlotPages` and not yet freed (weak: the Java side owns them).
static LIVE: Mutex<Vec<Weak<SlotPool>>> = Mutex::new(Vec::new());

/// The pools that Java's `SlotPages` (one per Flink `MemoryManager`, i.e. per slot, with the
/// drop-in runtime) holds now, oldest first. Closed or freed pools are left out.
pub fn live_pools() -> Vec<Arc<SlotPool>> {
    let mut live = LIVE.lock();
    live.retain(|w| w.strong_count() > 0);
    live.iter()
        .filter_map(Weak::upgrade)
        .filter(|p| !p.is_closed())
        .collect()
}

/// Per-slot figures of [`live_pools`] (for the metrics endpoint).
pub fn live_pool_figures() -> Vec<PoolFigures> {
    live_pools().iter().map(|p| p.figures()).collect()
}

/// Per-owner holdings of [`live_pools`] (for the report): owners are the numbers the Java side
/// gave its owner objects.
pub fn live_pool_usage() -> Vec<UsageReport> {
    live_pools().iter().map(|p| p.usage()).collect()
}

const OK: jint = 0;
const FULL: jint = 1;
const CLOSED: jint = 2;

/// `static native long nativeCreate(long size, int pageSize)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeCreate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    size: jlong,
    page_size: jint,
) -> jlong {
    jni_entry(&mut env, 0, |_| {
        let pool = super::new_pool(size, page_size)?;
        let pool = Arc::new(pool);
        LIVE.lock().push(Arc::downgrade(&pool));
        Ok(Arc::into_raw(pool) as jlong)
    })
}

/// `static native void nativeFree(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        super::free_pool(handle);
        Ok(())
    })
}

/// `static native long nativeBase(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeBase<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.base_address() as jlong))
}

/// `static native long nativeTableAddress(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeTableAddress<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.page_table().0 as jlong))
}

/// `static native long nativeTableLength(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeTableLength<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    jni_entry(&mut env, 0, |_| Ok(pool(handle)?.page_table().1 as jlong))
}

/// `static native int nativeAllocate(long handle, long owner, int n, long[] out)`: `0` (done,
/// handles in `out`), `1` (over budget) or `2` (closed); nothing is allocated unless `0`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeAllocate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    owner_id: jlong,
    n: jint,
    out: JLongArray<'local>,
) -> jint {
    jni_entry(&mut env, CLOSED, |env| {
        let pool = pool(handle)?;
        let n = u32::try_from(n).map_err(|_| JavaError::illegal_argument(format!("negative page count {n}")))?;
        if env.get_array_length(&out)? < n as jint {
            return Err(JavaError::illegal_argument("output array shorter than the page count"));
        }
        let mut bits: Vec<jlong> = Vec::with_capacity(n.min(pool.total_pages()) as usize);
        match pool.allocate_with(owner(owner_id), n, |p| bits.push(p.to_bits() as jlong)) {
            Ok(()) => {}
            Err(ManagedMemoryError::OutOfPages { .. } | ManagedMemoryError::MorePagesThanSlot { .. }) => {
                return Ok(FULL)
            }
            Err(ManagedMemoryError::Closed { .. }) => return Ok(CLOSED),
            Err(e) => return Err(error(e)),
        }
        if let Err(e) = env.set_long_array_region(&out, 0, &bits) {
            let pages: Vec<Page> = bits.iter().map(|b| pool.page_from_bits(*b as u64)).collect();
            let _ = pool.release_batch(&pages);
            return Err(e.into());
        }
        Ok(OK)
    })
}

/// `static native void nativeReleaseOne(long handle, long bits)`: the exact error of a refused
/// release (or the release, when the page table's answer changed meanwhile).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeReleaseOne<'local>(
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

/// `static native void nativeReturnMemoryIfDue(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeReturnMemoryIfDue<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        pool(handle)?.return_memory_if_due();
        Ok(())
    })
}

/// `static native void nativeReleaseBatch(long handle, long[] bits, int count)`: the page
/// table refused a batch in Java (nothing changed); the native pool refuses it the same way,
/// with the exact error, or releases it if the pages' state changed meanwhile.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeReleaseBatch<'local>(
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

/// `static native long[] nativeUsage(long handle)`: triples (owner, pages, reserved bytes).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeUsage<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let report = pool(handle)?.usage();
        usage_triples(env, &report)
    })
}

/// `static native void nativeTrim(long handle)`: free pages' memory back to the OS now.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeTrim<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        let pool = pool(handle)?;
        if !pool.is_closed() {
            pool.trim().map_err(error)?;
        }
        Ok(())
    })
}

/// `static native String nativeCheck(long handle, boolean quiet)`: as `MemoryManager.nativeCheck`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeCheck<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    quiet: jboolean,
) -> jobject {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let text = super::check_text(pool(handle)?, quiet != 0);
        Ok(env.new_string(text)?.into_raw())
    })
}

/// `PageTable.nativeLayout()`: `runtime::managed::protocol::layout()` as names and values
/// (unsigned decimal), alternating, for Java's check of its port at class load.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_PageTable_nativeLayout<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jobject {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let layout = runtime::managed::protocol::layout();
        let array = env.new_object_array((layout.len() * 2) as jint, "java/lang/String", JObject::null())?;
        for (i, (name, value)) in layout.iter().enumerate() {
            let n = env.new_string(name)?;
            env.set_object_array_element(&array, (2 * i) as jint, &n)?;
            let v = env.new_string(value.to_string())?;
            env.set_object_array_element(&array, (2 * i + 1) as jint, &v)?;
        }
        Ok(array.into_raw())
    })
}
