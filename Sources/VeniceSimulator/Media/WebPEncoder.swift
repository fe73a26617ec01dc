/// Lossless WebP (VP8L) without transforms or colour cache: one prefix-code group whose green, red and
/// blue codes give every byte value an 8-bit code, alpha a single symbol (255). Valid for every decoder
/// (libwebp's `dwebp`, browsers); about as large as raw RGB.
public enum WebPEncoder {
    /// `rgb` holds `width * height * 3` bytes, row-major. Width and height must be 1…16,384.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= 16_384 && height <= 16_384 && rgb.count == width * height * 3,
                     "WebPEncoder: bad dimensions")
        var bits = LSBBitWriter()
        bits.write(0x2F, 8)                     // VP8L signature
        bits.write(UInt32(width - 1), 14)
        bits.write(UInt32(height - 1), 14)
        bits.write(0, 1)                        // alpha_is_used
        bits.write(0, 3)                        // version
        bits.write(0, 1)                        // no transform
        bits.write(0, 1)                        // no colour cache
        bits.write(0, 1)                        // no meta prefix codes
        writeLiteralCode(&bits, alphabetSize: 280)   // green + 24 length codes (unused)
        writeLiteralCode(&bits, alphabetSize: 256)   // red
        writeLiteralCode(&bits, alphabetSize: 256)   // blue
        writeSingleSymbol(&bits, 255)                // alpha: always 255, zero bits per pixel
        writeSingleSymbol(&bits, 0)                  // distance: unused
        var index = 0
        for _ in 0..<(width * height) {
            writeCode(&bits, rgb[index + 1])    // green first
            writeCode(&bits, rgb[index])        // red
            writeCode(&bits, rgb[index + 2])    // blue
            index += 3
        }
        var payload = bits.finish()
        let chunkSize = payload.count
        if payload.count % 2 == 1 { payload.append(0) }
        var out: [UInt8] = Array("RIFF".utf8)
        out.appendLittleEndian(UInt32(4 + 8 + payload.count))
        out += Array("WEBPVP8L".utf8)
        out.appendLittleEndian(UInt32(chunkSize))
        out += payload
        return out
    }

    /// A normal prefix code: symbols 0…255 of length 8, the rest of the alphabet 0. The code-length code
    /// uses two symbols, 0 and 8, each of length 1 (codes "0" and "1").
    private static func writeLiteralCode(_ bits: inout LSBBitWriter, alphabetSize: Int) {
        bits.write(0, 1)                        // not simple
        // Code-length code lengths in kCodeLengthCodeOrder = 17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, …: 12 entries.
        bits.write(12 - 4, 4)
        let lengths: [UInt32] = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        for length in lengths { bits.write(length, 3) }
        bits.write(0, 1)                        // max_symbol = alphabet size
        for symbol in 0..<alphabetSize { bits.write(symbol < 256 ? 1 : 0, 1) }
    }

    private static func writeSingleSymbol(_ bits: inout LSBBitWriter, _ symbol: UInt32) {
        bits.write(1, 1)                        // simple code
        bits.write(0, 1)                        // one symbol
        bits.write(1, 1)                        // 8-bit symbol
        bits.write(symbol, 8)
    }

    /// Canonical 8-bit code of a byte value, most significant code bit first.
    private static func writeCode(_ bits: inout LSBBitWriter, _ value: UInt8) {
        bits.write(UInt32(reversedBits[Int(value)]), 8)
    }

    private static let reversedBits: [UInt8] = (0..<256).map { value in
        var result: UInt8 = 0
        for bit in 0..<8 where (value >> bit) & 1 == 1 { result |= 1 << (7 - bit) }
        return result
    }
}

/// LSB-first bit packing (VP8L, deflate).
struct LSBBitWriter {
    private var bytes: [UInt8] = []
    private var accumulator: UInt64 = 0
    private var count = 0

    mutating func write(_ value: UInt32, _ bits: Int) {
        accumulator |= UInt64(value & (bits == 32 ? .max : (1 << UInt32(bits)) - 1)) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(accumulator & 0xFF))
            accumulator >>= 8
            count -= 8
        }
    }

    mutating func finish() -> [UInt8] {
        if count > 0 { bytes.append(UInt8(accumulator & 0xFF)); accumulator = 0; count = 0 }
        return bytes
    }
}
