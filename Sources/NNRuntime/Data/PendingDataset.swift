// PendingDataset: a data set that loads on a background thread — the test set, which training needs
// only at the end of the first epoch, kept off the path to the first step.

import Foundation

/// A data set that is loaded once, on a background thread, and waited for when needed.
///
/// `start()` begins loading (at most once); `wait()` starts it if nobody did and blocks until it is
/// done, returning the data set or rethrowing the error the load threw.
public final class PendingDataset: @unchecked Sendable {
    /// What is being loaded, for messages (e.g. `Fashion-MNIST test (/usr/share/datasets/fashion-mnist)`).
    public let description: String
    private let load: @Sendable () throws -> LabeledDataset
    /// Guards `started` and `result`.
    private let condition = NSCondition()
    private var started = false
    private var result: Result<LabeledDataset, any Error>?

    /// A data set that `load` will produce; nothing runs until `start()` or `wait()`.
    public init(_ description: String, load: @escaping @Sendable () throws -> LabeledDataset) {
        self.description = description
        self.load = load
    }

    /// A data set that is already in memory.
    public init(loaded dataset: LabeledDataset, description: String = "data set") {
        self.description = description
        self.load = { dataset }
        started = true
        result = .success(dataset)
    }

    /// Starts loading on a background thread, unless loading has started already.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        let load = self.load
        Thread.detachNewThread { [self] in
            let loaded = Result { try load() }
            condition.lock()
            result = loaded
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Whether loading has finished (with a data set or an error).
    public var isLoaded: Bool {
        condition.lock()
        defer { condition.unlock() }
        return result != nil
    }

    /// The data set, once loaded (starting the load if needed); rethrows the error of a failed load.
    public func wait() throws -> LabeledDataset {
        start()
        condition.lock()
        while true {
            if let result {
                condition.unlock()
                return try result.get()
            }
            condition.wait()
        }
    }
}
