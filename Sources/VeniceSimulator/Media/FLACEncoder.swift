/// FLAC with VERBATIM subframes only: 16-bit mono, fixed 4,096-sample blocks, CRC-8 headers and CRC-16 frames.
/// Lossless and valid for every decoder (`flac -t`), just not compressed.
enum FLACEncoder {
    static let blockSize = 4_096

    /// `pcm`: little-endian signed 16-bit mono samples.
    static func encode(pcm: [UInt8], sampleRate: Int) -> [UInt8] {
        let samples: [Int16] = stride(from: 0, to: pcm.count - 1, by: 2).map { Int16(bitPattern: UInt16(pcm[$0]) | UInt16(pcm[$0 + 1]) << 8) }
        var out: [UInt8] = Array("fLaC".utf8)
        out += [0x80, 0x00, 0x00, 34]   // last metadata block, STREAMINFO, 34 bytes
        var info = BitWriter()
        info.write(UInt64(blockSize), bits: 16)
        info.write(UInt64(blockSize), bits: 16)
        info.write(0, bits: 24)                      // min frame size unknown
        info.write(0, bits: 24)                      // max frame size unknown
        info.write(UInt64(sampleRate), bits: 20)
        info.write(0, bits: 3)                       // channels - 1
        info.write(15, bits: 5)                      // bits per sample - 1
        info.write(UInt64(samples.count), bits: 36)
        out += info.bytes + [UInt8](repeating: 0, count: 16)   // MD5 unknown
        var frameNumber: UInt64 = 0
        var start = 0
        while start < samples.count {
            let block = samples[start..<min(start + blockSize, samples.count)]
            var frame: [UInt8] = [0xFF, 0xF8, 0x70 | sampleRateCode(sampleRate), 0x08]   // fixed blocks, size from end of header, mono 16-bit
            frame += utf8Number(frameNumber)
            frame += [UInt8((block.count - 1) >> 8), UInt8((block.count - 1) & 0xFF)]
            if sampleRateCode(sampleRate) == 0x0C { frame += [UInt8(sampleRate / 1000)] }
            frame.append(crc8(frame))
            frame.append(0x02)                       // subframe: VERBATIM, no wasted bits
            for sample in block {
                let bits = UInt16(bitPattern: sample)
                frame += [UInt8(bits >> 8), UInt8(bits & 0xFF)]
            }
            let crc = crc16(frame)
            frame += [UInt8(crc >> 8), UInt8(crc & 0xFF)]
            out += frame
            frameNumber += 1
            start += blockSize
        }
        return out
    }

    private static func sampleRateCode(_ rate: Int) -> UInt8 {
        switch rate {
        case 8_000: 0x04
        case 16_000: 0x05
        case 22_050: 0x06
        case 24_000: 0x07
        case 32_000: 0x08
        case 44_100: 0x09
        case 48_000: 0x0A
        default: 0x0C   // kHz in an 8-bit field after the block size
        }
    }

    /// FLAC's "UTF-8" coding of the frame number.
    static func utf8Number(_ value: UInt64) -> [UInt8] {
        if value < 0x80 { return [UInt8(value)] }
        var continuation: [UInt8] = []
        var v = value
        var bitsInFirst = 6
        while v >= (1 << UInt64(bitsInFirst)) {
            continuation.insert(0x80 | UInt8(v & 0x3F), at: 0)
            v >>= 6
            bitsInFirst -= 1
        }
        let count = continuation.count + 1
        let lead = UInt8((0xFF << (8 - count)) & 0xFF) | UInt8(v)
        return [lead] + continuation
    }

    static func crc8(_ bytes: [UInt8]) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes {
            crc ^= byte
            for _ in 0..<8 { crc = (crc & 0x80) != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
        }
        return crc
    }

    static func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x8005 : crc << 1 }
        }
        return crc
    }
}

/// MSB-first bit packing.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var current: UInt8 = 0
    private var used = 0

    mutating func write(_ value: UInt64, bits: Int) {
        for shift in stride(from: bits - 1, through: 0, by: -1) {
            current = current << 1 | UInt8((value >> UInt64(shift)) & 1)
            used += 1
            if used == 8 { bytes.append(current); current = 0; used = 0 }
        }
    }
}
