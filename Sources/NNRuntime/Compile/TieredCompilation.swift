// TieredCompilation: the two tiers of `--backend tiered` — start on the cached cc build, or on libtcc now
// with the cc build compiling on a background thread — and the hand-over of the finished build.

import Foundation
import NNGen

/// The second tier of a tiered model: the cc build compiling in the background, until it is taken.
final class TieredCompilation {
    private var pending: BackgroundBuild?

    private init(pending: BackgroundBuild) { self.pending = pending }

    /// The build a tiered model starts on: the cc build from the cache when it is there (then no second
    /// tier, and a `.startedFromCache` event), else libtcc's, with the cc build started in the background.
    static func start(_ source: CSource, cc: CCOptions) throws -> (
        build: CompiledBuild, secondTier: TieredCompilation?, events: [BackendEvent]
    ) {
        let start = DispatchTime.now().uptimeNanoseconds
        if let library = CCCompiler.cached(source: source.singleUnit, name: source.modelName, options: cc) {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (
                CompiledBuild(program: library, backend: .cc, cacheHit: true, seconds: seconds), nil,
                [.startedFromCache(.cc, loadSeconds: seconds)]
            )
        }
        let second = TieredCompilation(pending: BackgroundBuild(source: source, backend: .cc, options: cc))
        return (try Backend.tcc.compile(source, cc: cc), second, [])
    }

    /// True until the background build has been taken.
    var isCompiling: Bool { pending != nil }

    /// The background build's outcome once it has finished (with `wait`, when it finishes), handed out once.
    func take(wait: Bool) -> Result<CompiledBuild, Diagnostic>? {
        guard let build = pending, let outcome = wait ? build.wait() : build.poll() else { return nil }
        pending = nil
        return outcome
    }
}
