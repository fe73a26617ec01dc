/// The playing time of an MPEG audio stream (MPEG-1/2/2.5, Layers I–III), by walking its frame
/// headers (ISO/IEC 11172-3 §2.4.2.3, 13818-3): bitrate, sample rate and padding give each frame's
/// length, the layer and version its samples. A leading ID3v2 tag is skipped. Used to measure
/// uploaded MP3s, as Venice bills transcriptions by the audio's seconds (VENICE.md §7.2).
enum MP3Frames {
    private static let bitratesV1: [[Int]] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],   // Layer I
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],      // Layer II
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],       // Layer III
    ]
    private static let bitratesV2: [[Int]] = [
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],      // Layer I
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],           // Layers II, III
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ]
    private static let sampleRates: [Int: [Int]] = [3: [44_100, 48_000, 32_000], 2: [22_050, 24_000, 16_000], 0: [11_025, 12_000, 8_000]]

    /// Seconds of audio, or nil when no frame is found where the stream should start.
    static func duration(of bytes: [UInt8]) -> Double? {
        var offset = 0
        if bytes.count >= 10, bytes[0] == UInt8(ascii: "I"), bytes[1] == UInt8(ascii: "D"), bytes[2] == UInt8(ascii: "3") {
            let size = bytes[6...9].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
            offset = 10 + size + (bytes[5] & 0x10 != 0 ? 10 : 0)
        }
        var seconds = 0.0
        var frames = 0
        while offset + 4 <= bytes.count, let frame = header(bytes, at: offset) {
            seconds += Double(frame.samples) / Double(frame.sampleRate)
            frames += 1
            offset += frame.length
        }
        return frames > 0 ? seconds : nil
    }

    private static func header(_ bytes: [UInt8], at offset: Int) -> (length: Int, samples: Int, sampleRate: Int)? {
        let b1 = bytes[offset + 1], b2 = bytes[offset + 2]
        guard bytes[offset] == 0xFF, b1 & 0xE0 == 0xE0 else { return nil }
        let version = Int(b1 >> 3 & 3), layerBits = Int(b1 >> 1 & 3)
        let bitrateIndex = Int(b2 >> 4), rateIndex = Int(b2 >> 2 & 3), padding = Int(b2 >> 1 & 1)
        guard version != 1, layerBits != 0, (1...14).contains(bitrateIndex), rateIndex != 3,
              let sampleRate = sampleRates[version]?[rateIndex] else { return nil }
        let layer = 4 - layerBits   // 1, 2 or 3
        let bitrate = (version == 3 ? bitratesV1 : bitratesV2)[layer - 1][bitrateIndex] * 1000
        let length: Int, samples: Int
        switch layer {
        case 1: length = (12 * bitrate / sampleRate + padding) * 4; samples = 384
        case 2: length = 144 * bitrate / sampleRate + padding; samples = 1152
        default:
            length = (version == 3 ? 144 : 72) * bitrate / sampleRate + padding
            samples = version == 3 ? 1152 : 576
        }
        guard length >= 4 else { return nil }
        return (length, samples, sampleRate)
    }
}
