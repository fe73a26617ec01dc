/// Draws a deterministic picture for (seed, prompt): a diagonal two-colour gradient with a few discs.
/// Real pixels, so clients can decode, measure and compare; not meant to look like the prompt.
enum ImageRenderer {
    static func renderRGB(width: Int, height: Int, seed: Int64, prompt: String, blackedOut: Bool = false) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if blackedOut { return pixels }
        var generator = SeededGenerator(seed: seed, text: prompt)
        func colour() -> (Double, Double, Double) {
            (Double(generator.next() % 256), Double(generator.next() % 256), Double(generator.next() % 256))
        }
        let from = colour()
        let to = colour()
        let discs = (0..<4).map { _ in
            (x: Double(generator.next() % UInt64(width)), y: Double(generator.next() % UInt64(height)),
             r: Double(max(1, min(width, height) / 8)) * (1 + Double(generator.next() % 3)),
             colour: colour())
        }
        let span = Double(max(1, width + height - 2))
        for y in 0..<height {
            for x in 0..<width {
                let t = Double(x + y) / span
                var r = from.0 + (to.0 - from.0) * t
                var g = from.1 + (to.1 - from.1) * t
                var b = from.2 + (to.2 - from.2) * t
                for disc in discs {
                    let dx = Double(x) - disc.x
                    let dy = Double(y) - disc.y
                    if dx * dx + dy * dy <= disc.r * disc.r {
                        (r, g, b) = disc.colour
                    }
                }
                let index = (y * width + x) * 3
                pixels[index] = UInt8(max(0, min(255, r)))
                pixels[index + 1] = UInt8(max(0, min(255, g)))
                pixels[index + 2] = UInt8(max(0, min(255, b)))
            }
        }
        return pixels
    }

    static func png(width: Int, height: Int, seed: Int64, prompt: String, blackedOut: Bool = false) -> [UInt8] {
        PNGEncoder.encode(width: width, height: height,
                          rgb: renderRGB(width: width, height: height, seed: seed, prompt: prompt, blackedOut: blackedOut))
    }

    /// Encoded image in `format` ("png", "webp" or "jpeg"); nil for formats the simulator cannot write.
    static func encoded(format: String, width: Int, height: Int, seed: Int64, prompt: String, blackedOut: Bool = false) -> [UInt8]? {
        let rgb = renderRGB(width: width, height: height, seed: seed, prompt: prompt, blackedOut: blackedOut)
        switch format {
        case "png": return PNGEncoder.encode(width: width, height: height, rgb: rgb)
        case "webp": return WebPEncoder.encode(width: width, height: height, rgb: rgb)
        case "jpeg": return JPEGEncoder.encode(width: width, height: height, rgb: rgb)
        default: return nil
        }
    }
}
