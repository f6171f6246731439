// ProcessClock: seconds since this process started — for "first training step N ms after process start".

import Foundation

public enum ProcessClock {
    /// Seconds since the kernel started this process, from `/proc/self/stat` (field 22, `starttime`, in
    /// clock ticks since boot, so the resolution is 1/`sysconf(_SC_CLK_TCK)`: 10 ms on Linux) against
    /// `CLOCK_BOOTTIME`. Nil where /proc is not available.
    public static func secondsSinceStart() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)" come the fields from 3 (state) on; starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var now = timespec()
        guard ticksPerSecond > 0, clock_gettime(CLOCK_BOOTTIME, &now) == 0 else { return nil }
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - ticks / ticksPerSecond
    }
}
