package io.blocksim.cuda;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Device-memory residency under a byte budget, least recently used evicted first. Entries pinned
 * by the search in progress are never evicted (its launches may still read them); a request that
 * cannot fit even after evicting every unpinned entry is refused, and the caller streams that data
 * instead. Plain Java (the values are opaque handles, released through a callback), so the policy
 * is tested without a GPU. Not thread-safe: the backend serializes searches.
 */
public final class ResidencyCache<K, V> {
    private record Entry<V>(V value, long bytes) {
    }

    private long budget;
    private final Consumer<V> release;
    private final LinkedHashMap<K, Entry<V>> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Set<K> pinned = new HashSet<>();
    private long used;
    private long pinnedBytes;
    private long evictions;

    public ResidencyCache(long budget, Consumer<V> release) {
        if (budget < 0) {
            throw new IllegalArgumentException("negative budget");
        }
        this.budget = budget;
        this.release = release;
    }

    public long budget() {
        return budget;
    }

    /**
     * Lowers the budget to {@code bytes} (never raises it): the device held less than the budget
     * promised. Evicts nothing; later admissions respect the lower budget.
     */
    public void capBudget(long bytes) {
        budget = Math.min(budget, Math.max(0, bytes));
    }

    public long used() {
        return used;
    }

    public int size() {
        return entries.size();
    }

    /** How many entries were evicted to make room, since creation. */
    public long evictions() {
        return evictions;
    }

    public boolean contains(K key) {
        return entries.containsKey(key);
    }

    /** The resident value (now the most recently used, and pinned), or null. */
    public V get(K key) {
        Entry<V> e = entries.get(key);
        if (e == null) {
            return null;
        }
        if (pinned.add(key)) {
            pinnedBytes += e.bytes();
        }
        return e.value();
    }

    /** True when {@code bytes} could be made resident now (by evicting unpinned entries). */
    public boolean fits(long bytes) {
        return bytes <= budget - pinnedBytes;
    }

    /**
     * Makes room for {@code bytes} and stores what {@code allocate} returns under {@code key},
     * pinned and most recently used; returns null (and evicts nothing) when it cannot fit beside
     * the pinned entries. {@code allocate} may throw (e.g. out of device memory): nothing is stored.
     */
    public V admit(K key, long bytes, java.util.function.Supplier<V> allocate) {
        if (entries.containsKey(key)) {
            throw new IllegalStateException("already resident: " + key);
        }
        if (!fits(bytes)) {
            return null;
        }
        evictUntilFree(bytes);
        V v = allocate.get();
        entries.put(key, new Entry<>(v, bytes));
        pinned.add(key);
        pinnedBytes += bytes;
        used += bytes;
        return v;
    }

    /** Evicts unpinned entries, least recently used first, until {@code bytes} are free in the budget. */
    private void evictUntilFree(long bytes) {
        Iterator<Map.Entry<K, Entry<V>>> it = entries.entrySet().iterator();
        while (used + bytes > budget && it.hasNext()) {
            Map.Entry<K, Entry<V>> e = it.next();
            if (pinned.contains(e.getKey())) {
                continue;
            }
            it.remove();
            used -= e.getValue().bytes();
            evictions++;
            release.accept(e.getValue().value());
        }
    }

    /** Evicts every unpinned entry (after an allocation failed although the budget allowed it). */
    public int evictUnpinned() {
        int n = 0;
        Iterator<Map.Entry<K, Entry<V>>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<K, Entry<V>> e = it.next();
            if (!pinned.contains(e.getKey())) {
                it.remove();
                used -= e.getValue().bytes();
                evictions++;
                n++;
                release.accept(e.getValue().value());
            }
        }
        return n;
    }

    /** Ends a search: its entries may be evicted again. */
    public void unpinAll() {
        pinned.clear();
        pinnedBytes = 0;
    }

    /** Drops (and releases) one entry, pinned or not; false when it is not there. */
    public boolean remove(K key) {
        return removeIf(key::equals) > 0;
    }

    /** Drops (and releases) entries whose key went stale, e.g. their host memory was unmapped. */
    public int removeIf(Predicate<K> stale) {
        List<K> gone = new ArrayList<>();
        for (K k : entries.keySet()) {
            if (stale.test(k)) {
                gone.add(k);
            }
        }
        for (K k : gone) {
            Entry<V> e = entries.remove(k);
            if (pinned.remove(k)) {
                pinnedBytes -= e.bytes();
            }
            used -= e.bytes();
            release.accept(e.value());
        }
        return gone.size();
    }

    /** Releases everything. */
    public void clear() {
        for (Entry<V> e : entries.values()) {
            release.accept(e.value());
        }
        entries.clear();
        pinned.clear();
        pinnedBytes = 0;
        used = 0;
    }

    /** Keys from least to most recently used (for tests and messages). */
    public List<K> keysLruFirst() {
        return new ArrayList<>(entries.keySet());
    }
}
