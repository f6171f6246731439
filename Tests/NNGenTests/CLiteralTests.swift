// C literals the emitter writes read back as the exact value (the embedded weights depend on it).

import Testing

@testable import NNGen

@Suite struct CLiteralTests {
    @Test func hexLiteralsRoundTrip() {
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 1.0 / 3, .pi, .ulpOfOne, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNormalMagnitude, .leastNonzeroMagnitude, 0x1p-1030, Double(Float.leastNonzeroMagnitude), Double(Float(0.1)),
        ]
        var state: UInt64 = 1
        for _ in 0..<1000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let v = Double(bitPattern: state)
            if v.isFinite { values.append(v) }
        }
        for v in values {
            let text = CLiteral.hex(v)
            #expect(text.hasPrefix("0x") || text.hasPrefix("-0x"))
            let parsed = Double(text)
            #expect(parsed?.bitPattern == v.bitPattern, "\(v): \(text) reads back as \(String(describing: parsed))")
        }
        #expect(CLiteral.hex(0.375) == "0x1.8p-2")
        #expect(CLiteral.hex(-1) == "-0x1p+0")
        #expect(CLiteral.hex(.leastNonzeroMagnitude) == "0x0.0000000000001p-1022")
    }
}
