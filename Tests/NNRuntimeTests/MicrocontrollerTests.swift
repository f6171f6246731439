// examples/mcu: fashion_mcu built forward only, one image at a time, weights in flash, for a Cortex-M4 with
// arm-none-eabi-gcc and newlib (no file system, heap or threads); the build script reports flash and RAM.

import Foundation
import Testing

@Suite struct MicrocontrollerTests {
    @Test func cortexM4BuildLinksAndFits() throws {
        try #require(GeneratedCTests.available("arm-none-eabi-gcc"), "arm-none-eabi-gcc is not installed (Debian gcc-arm-none-eabi)")
        let binary = try #require(CommandLineTests.binary, "nngen binary not found next to the tests")
        let out = NSTemporaryDirectory() + "nngen-mcu-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let script = CommandLineTests.root + "/examples/mcu/build.sh"
        let result = GeneratedCTests.run(["env", "NNGEN=\(binary)", "OUT=\(out)", script, "/nonexistent.safetensors"])
        try #require(result.status == 0, "\(result.output)")
        // "fashion_mcu for Cortex-M4: flash N bytes (…), RAM M bytes (…)"
        let words = result.output.split(whereSeparator: { $0 == " " || $0 == "," })
        let flash = try #require(words.firstIndex(of: "flash").flatMap { Int(words[$0 + 1]) }, "\(result.output)")
        let ram = try #require(words.firstIndex(of: "RAM").flatMap { Int(words[$0 + 1]) }, "\(result.output)")
        // 25,450 float parameters are 101,800 bytes: in flash as const arrays, and copied into mem in RAM.
        #expect(flash > 101_800 && flash < 128 * 1024, "flash \(flash)")
        #expect(ram > 101_800 && ram < 128 * 1024, "RAM \(ram)")
        let symbols = GeneratedCTests.run(["arm-none-eabi-nm", out + "/fashion_mcu.elf"]).output
        #expect(symbols.contains("fashion_mcu_predict") && !symbols.contains("fashion_mcu_backward"))
        #expect(!symbols.contains("pthread") && !symbols.contains("fopen"), "no threads or stdio on the device")
    }
}
