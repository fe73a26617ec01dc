import Foundation

/// 16-bit mono PCM WAV: writing synthetic speech-like tones, and reading a header's duration.
public enum WAVCodec {
    public static let sampleRate = 24_000

    /// Deterministic tones: one short note per character of `text`, silence for spaces.
    /// Speed scales the note length. Returns raw little-endian 16-bit samples.
    static func synthesizePCM(text: String, speed: Double = 1.0, maxSeconds: Double = 30) -> [UInt8] {
        let noteSeconds = 0.06 / max(0.25, min(4, speed))
        let characters = Array(text.unicodeScalars)
        let noteSamples = max(1, Int(Double(sampleRate) * noteSeconds))
        let totalNotes = min(characters.count, Int(maxSeconds / noteSeconds))
        var samples: [UInt8] = []
        samples.reserveCapacity(totalNotes * noteSamples * 2)
        for index in 0..<totalNotes {
            let scalar = characters[index]
            let silent = scalar.properties.isWhitespace
            let frequency = 180.0 + Double(scalar.value % 64) * 9.0
            for n in 0..<noteSamples {
                let envelope = min(1.0, Double(n) / 200.0, Double(noteSamples - n) / 200.0)
                let value = silent ? 0.0 : sin(2 * Double.pi * frequency * Double(n) / Double(sampleRate)) * 0.3 * envelope
                samples.appendLittleEndian(UInt16(bitPattern: Int16(value * Double(Int16.max))))
            }
        }
        return samples
    }

    /// Seconds of tone for queued music jobs (a slow arpeggio), capped so responses stay small.
    static func synthesizeMusicPCM(seconds: Double, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        let total = Int(Double(sampleRate) * min(max(seconds, 0.5), 10))
        var samples: [UInt8] = []
        samples.reserveCapacity(total * 2)
        var frequency = 220.0
        for n in 0..<total {
            if n % (sampleRate / 4) == 0 { frequency = 220.0 * pow(2, Double(generator.next() % 12) / 12) }
            let value = sin(2 * Double.pi * frequency * Double(n) / Double(sampleRate)) * 0.25
            samples.appendLittleEndian(UInt16(bitPattern: Int16(value * Double(Int16.max))))
        }
        return samples
    }

    static func wav(pcm: [UInt8], sampleRate: Int = sampleRate) -> [UInt8] {
        var out: [UInt8] = Array("RIFF".utf8)
        out.appendLittleEndian(UInt32(36 + pcm.count))
        out += Array("WAVEfmt ".utf8)
        out.appendLittleEndian(UInt32(16))
        out.appendLittleEndian(UInt16(1))            // PCM
        out.appendLittleEndian(UInt16(1))            // mono
        out.appendLittleEndian(UInt32(sampleRate))
        out.appendLittleEndian(UInt32(sampleRate * 2))
        out.appendLittleEndian(UInt16(2))            // block align
        out.appendLittleEndian(UInt16(16))           // bits per sample
        out += Array("data".utf8)
        out.appendLittleEndian(UInt32(pcm.count))
        out += pcm
        return out
    }

    /// Duration in seconds from a RIFF/WAVE header (`fmt ` byte rate and `data` size), or nil if not a WAV.
    public static func duration(ofWAV bytes: [UInt8]) -> Double? {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WAVE".utf8) else { return nil }
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        var offset = 12
        var byteRate: UInt32?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = Int(u32(offset + 4))
            if id == "fmt ", offset + 20 <= bytes.count {
                byteRate = u32(offset + 16)
            } else if id == "data" {
                guard let rate = byteRate, rate > 0 else { return nil }
                let available = min(size, bytes.count - offset - 8)
                return Double(available) / Double(rate)
            }
            guard size >= 0, offset + 8 + size + (size & 1) > offset else { return nil }
            offset += 8 + size + (size & 1)
        }
        return nil
    }
}
