package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ResidencyCacheTest {
    private final List<String> released = new ArrayList<>();

    private ResidencyCache<String, String> cache(long budget) {
        return new ResidencyCache<>(budget, released::add);
    }

    @Test
    void aCappedBudgetRefusesWhatNoLongerFits() {
        ResidencyCache<String, String> c = cache(100);
        c.admit("a", 40, () -> "A");
        c.capBudget(40);   // the device held only this much
        c.capBudget(500);  // a cap never raises the budget
        assertEquals(40, c.budget());
        assertNull(c.admit("b", 10, () -> "B"), "a is pinned: nothing more fits under the cap");
        c.unpinAll();
        c.evictUnpinned();
        assertEquals("B", c.admit("b", 10, () -> "B"));
        c.capBudget(-5);
        assertEquals(0, c.budget());
    }

    @Test
    void evictsTheLeastRecentlyUsedUnpinnedEntry() {
        ResidencyCache<String, String> c = cache(100);
        c.admit("a", 40, () -> "A");
        c.admit("b", 40, () -> "B");
        c.unpinAll();  // a search ended
        assertEquals("A", c.get("a"));  // a is now the most recent, b the least
        c.unpinAll();
        assertEquals("C", c.admit("c", 40, () -> "C"));
        assertEquals(List.of("B"), released);
        assertEquals(List.of("a", "c"), c.keysLruFirst());
        assertEquals(80, c.used());
        assertEquals(1, c.evictions());
    }

    @Test
    void pinnedEntriesAreNeverEvictedAndOverflowIsRefused() {
        ResidencyCache<String, String> c = cache(100);
        c.admit("a", 60, () -> "A");
        // "a" is pinned by the search in progress: 50 more bytes cannot fit, nothing is evicted
        assertFalse(c.fits(50));
        assertNull(c.admit("b", 50, () -> "B"));
        assertTrue(c.contains("a"));
        assertTrue(released.isEmpty());
        c.unpinAll();
        assertTrue(c.fits(50));
        assertEquals("B", c.admit("b", 50, () -> "B"));
        assertEquals(List.of("A"), released);
        // larger than the whole budget: always streamed
        c.unpinAll();
        assertNull(c.admit("huge", 101, () -> "H"));
    }

    /** A block whose upload failed is dropped even while pinned, and its memory released. */
    @Test
    void removeDropsAPinnedEntry() {
        ResidencyCache<String, String> c = cache(100);
        c.admit("a", 30, () -> "A");
        c.admit("b", 30, () -> "B");
        assertTrue(c.remove("a"));
        assertFalse(c.remove("a"));
        assertNull(c.get("a"));
        assertEquals(List.of("A"), released);
        assertEquals(30, c.used());
        assertEquals("C", c.admit("c", 70, () -> "C"), "the removed entry's pinned bytes are free again");
    }

    @Test
    void failedAllocationStoresNothing() {
        ResidencyCache<String, String> c = cache(100);
        assertThrows(IllegalStateException.class, () -> c.admit("a", 10, () -> {
            throw new IllegalStateException("out of device memory");
        }));
        assertFalse(c.contains("a"));
        assertEquals(0, c.used());
        c.admit("b", 10, () -> "B");
        assertThrows(IllegalStateException.class, () -> c.admit("b", 10, () -> "B2"));
    }

    @Test
    void evictUnpinnedStaleAndClear() {
        ResidencyCache<String, String> c = cache(1000);
        c.admit("a", 10, () -> "A");
        c.admit("b", 10, () -> "B");
        c.unpinAll();
        c.get("b");
        assertEquals(1, c.evictUnpinned());
        assertEquals(List.of("A"), released);
        c.admit("stale", 5, () -> "S");
        assertEquals(1, c.removeIf(k -> k.equals("stale")));
        assertEquals(10, c.used());
        // a stale pinned entry leaves the pinned total too
        assertTrue(c.fits(990));
        c.clear();
        assertEquals(0, c.used());
        assertEquals(0, c.size());
        assertEquals(List.of("A", "S", "B"), released);
    }
}
