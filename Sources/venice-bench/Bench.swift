/// A tiny timing harness: runs `body` until `minimum` has elapsed (after a warm-up) and
/// reports the mean cost per operation. Timings live here, never in pass/fail tests.
struct Bench {
    static func measure(_ name: String, minimum: Duration = .seconds(1), iterations batch: Int = 1,
                        _ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        for _ in 0..<min(batch, 100) { try body() }
        var count = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            for _ in 0..<batch { try body() }
            count += batch
            elapsed = clock.now - start
        } while elapsed < minimum
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let perOp = seconds / Double(count)
        report(name, perOp: perOp, count: count)
        return perOp
    }

    static func report(_ name: String, perOp: Double, count: Int) {
        let (value, unit) = perOp < 1e-3 ? (perOp * 1e6, "µs") : (perOp * 1e3, "ms")
        let padded = name.count >= 46 ? name : name + String(repeating: " ", count: 46 - name.count)
        print("\(padded) \(format(value, 2).leftPad(10)) \(unit)/op  \(format(1 / perOp, 0).leftPad(10)) op/s  (n=\(count))")
    }

    static func format(_ x: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (x * scale).rounded() / scale
        var s = "\(rounded)"
        if decimals == 0, s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
