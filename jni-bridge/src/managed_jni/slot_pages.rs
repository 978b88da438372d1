//! JNI entry points of `dev.tmrt.memory.SlotPages`: the native side of one slot pool as the Java
//! faces of managed memory use it (Flink's `MemoryManager` as tmrt substitutes it, and tmrt's own
//! `MemoryManager`). Each entry converts, calls one [`SlotPool`] operation and converts back;
//! "over budget" is a status code here, not an exception, because each Java face words it its
//! own way (the drop-in with Flink's exact texts).
//!
//! Every pool made here is also recorded in [`live_slots`], so that the agent can show per-slot
//! figures (pages in use, budget, reserved bytes) and per-owner holdings without touching Java;
//! a memory manager's `shutdown()` retires its pool from that list. The pool knows the owner of
//! every page but only the total of the reservations (Java books them per owner), so a Java
//! `SlotPages` that says where its owners are booked (`describeOwnersWith`) is recorded with it
//! (a weak reference) and [`slot_usage`] asks it, from a thread that may call Java.

use std::sync::{Arc, Weak};

use jni::objects::{JClass, JLongArray, JObject, WeakRef};
use jni::sys::{jboolean, jint, jlong, jlongArray, jobject};
use jni::JNIEnv;
use parking_lot::Mutex;
use runtime::managed::{ManagedMemoryError, OwnerId, Page, SlotPool, UsageReport};

use super::{error, owner, pool, usage_triples};
use crate::ffi::{jni_entry, long_prefix, JavaError};

/// A pool made through `SlotPages` and not yet freed (weak: the Java side owns it).
struct LiveEntry {
    number: u32,
    pool: Weak<SlotPool>,
    /// The Java `SlotPages`, once it said where its owners are booked.
    java: Option<Arc<WeakRef>>,
}

/// Pools made through `SlotPages` and not yet freed, each with its slot number.
static LIVE: Mutex<Vec<LiveEntry>> = Mutex::new(Vec::new());

/// A pool that Java's `SlotPages` holds, with the number the agent shows it under.
pub struct LiveSlot {
    /// The lowest number no other live pool had when this one was made: a slot pool of a
    /// TaskManager with `n` slots is numbered below `n` (Flink makes one memory manager per slot
    /// and frees it with the slot), so the `slot` label of the metrics stays a small, bounded set
    /// across any number of jobs. tmrt's number, not Flink's slot index (a `MemoryManager` does
    /// not know its slot).
    pub number: u32,
    pub pool: Arc<SlotPool>,
    /// The Java `SlotPages` over the pool, when it said where its owners are booked.
    java: Option<Arc<WeakRef>>,
}

/// The live entries (dropping freed and closed pools from the list), oldest first.
fn live_entries(live: &mut Vec<LiveEntry>) -> Vec<LiveSlot> {
    // Dropping an entry may drop a weak JNI reference: only ever on a thread attached to the JVM
    // (every caller is a JNI entry or the agent's thread).
    let mut slots = Vec::with_capacity(live.len());
    live.retain(|e| match e.pool.upgrade().filter(|p| !p.is_closed()) {
        Some(pool) => {
            slots.push(LiveSlot {
                number: e.number,
                pool,
                java: e.java.clone(),
            });
            true
        }
        None => false,
    });
    slots
}

/// Records a new pool under the lowest number no live pool has.
fn record(pool: &Arc<SlotPool>) {
    let mut live = LIVE.lock();
    let taken: Vec<u32> = live_entries(&mut live).iter().map(|s| s.number).collect();
    let number = (0..).find(|n| !taken.contains(n)).unwrap_or(0);
    live.push(LiveEntry {
        number,
        pool: Arc::downgrade(pool),
        java: None,
    });
}

/// Takes a pool out of the live list (its memory manager was shut down: the pool stays mapped
/// until Java frees it, but it is no slot's any more, and its number is free again).
fn retire(pool: &SlotPool) {
    LIVE.lock().retain(|e| !std::ptr::eq(e.pool.as_ptr(), pool));
}

/// Who holds what in `slot`: the pool's pages per owner, with each owner's reserved bytes as the
/// Java memory manager over it books them, when it said where (`describeOwnersWith`) and `env`
/// can ask; otherwise the pool's own figures. Calls Java: only from a thread asking for a snapshot
/// or in the VM-death event (where JVMTI allows it), never in a GC or class-load callback. Triples
/// with a negative number (a broken supplier) are skipped, not wrapped.
pub fn slot_usage(env: &mut JNIEnv<'_>, slot: &LiveSlot) -> UsageReport {
    let usage = slot.pool.usage();
    let Some(java) = &slot.java else { return usage };
    let booked = env.with_local_frame(8, |env| -> jni::errors::Result<Option<Vec<jlong>>> {
        let Some(pages) = java.upgrade_local(env)? else {
            return Ok(None);
        };
        let array = env.call_method(&pages, "ownerUsage", "()[J", &[])?.l()?;
        if array.is_null() {
            return Ok(None);
        }
        let array = JLongArray::from(array);
        let mut triples = vec![0; env.get_array_length(&array)? as usize];
        env.get_long_array_region(&array, 0, &mut triples)?;
        Ok(Some(triples))
    });
    match booked {
        Ok(Some(triples)) => usage.with_reservations(
            triples
                .chunks_exact(3)
                .filter_map(|t| Some((OwnerId(u64::try_from(t[0]).ok()?), u64::try_from(t[2]).ok()?))),
        ),
        Ok(None) => usage,
        Err(_) => {
            // An exception in the supplier (or no such method): the pool's own figures.
            let _ = env.exception_clear();
            usage
        }
    }
}

/// The pools that Java's `SlotPages` (one per Flink `MemoryManager`, i.e. per slot, with the
/// drop-in runtime) holds now, oldest first, with their slot numbers. Retired (their memory
/// manager shut down), closed or freed pools are left out.
pub fn live_slots() -> Vec<LiveSlot> {
    live_entries(&mut LIVE.lock())
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
        record(&pool);
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

/// `static native void nativeRetire(long handle)`: the memory manager was shut down; the pool
/// leaves [`live_slots`] (its number is free again) but stays mapped until Java frees it.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeRetire<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| {
        retire(pool(handle)?);
        Ok(())
    })
}

/// `static native void nativeAttach(long handle, SlotPages pages)`: `pages` says where its
/// owners are booked; [`slot_usage`] asks it through a weak reference.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_memory_SlotPages_nativeAttach<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    pages: JObject<'local>,
) {
    jni_entry(&mut env, (), |env| {
        let pool = pool(handle)?;
        let Some(weak) = env.new_weak_ref(&pages)? else {
            return Ok(());
        };
        let weak = Arc::new(weak);
        let mut live = LIVE.lock();
        if let Some(e) = live.iter_mut().find(|e| std::ptr::eq(e.pool.as_ptr(), pool)) {
            e.java = Some(weak);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::managed::PageSize;

    fn pool() -> Arc<SlotPool> {
        Arc::new(SlotPool::new("slot", 1 << 20, PageSize::new(32 << 10).unwrap()).unwrap())
    }

    #[test]
    fn slot_numbers_are_the_lowest_free_and_reused() {
        let (a, b) = (pool(), pool());
        record(&a);
        record(&b);
        let number = |p: &Arc<SlotPool>| {
            live_slots()
                .into_iter()
                .find(|s| Arc::ptr_eq(&s.pool, p))
                .map(|s| s.number)
        };
        let (na, nb) = (number(&a).unwrap(), number(&b).unwrap());
        assert_ne!(na, nb);
        // A shut-down pool leaves the list and its number is given to the next pool.
        a.close();
        assert_eq!(number(&a), None);
        let c = pool();
        record(&c);
        assert_eq!(number(&c), Some(na));
        // A retired pool (its memory manager shut down) too, while still mapped.
        retire(&c);
        assert_eq!(number(&c), None);
        assert!(!c.is_closed());
        let e = pool();
        record(&e);
        assert_eq!(number(&e), Some(na));
        // A freed pool (the Java side's Cleaner dropped it) too.
        drop(e);
        drop(c);
        let d = pool();
        record(&d);
        assert_eq!(number(&d), Some(na));
        assert_eq!(number(&b), Some(nb));
    }
}
