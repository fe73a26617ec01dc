import Foundation

/// Baseline JPEG (JFIF, YCbCr 4:4:4, the standard Annex K quantisation and Huffman tables, quality 90).
/// Small and plain; decodes with libjpeg (`djpeg`), browsers and Pillow.
public enum JPEGEncoder {
    /// `rgb` holds `width * height * 3` bytes, row-major; width and height 1…65,535.
    public static func encode(width: Int, height: Int, rgb: [UInt8], quality: Int = 90) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= 65_535 && height <= 65_535 && rgb.count == width * height * 3,
                     "JPEGEncoder: bad dimensions")
        let lumaQ = scaled(Tables.luminanceQuant, quality: quality)
        let chromaQ = scaled(Tables.chrominanceQuant, quality: quality)
        var out: [UInt8] = [0xFF, 0xD8]
        out += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]
        out += [0xFF, 0xDB, 0x00, 0x84, 0x00] + Tables.zigzag.map { UInt8(lumaQ[$0]) } + [0x01] + Tables.zigzag.map { UInt8(chromaQ[$0]) }
        out += [0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 0x03,
                0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
        for (classAndID, table) in [(UInt8(0x00), Tables.dcLuminance), (0x10, Tables.acLuminance), (0x01, Tables.dcChrominance), (0x11, Tables.acChrominance)] {
            let length = 2 + 1 + 16 + table.values.count
            out += [0xFF, 0xC4, UInt8(length >> 8), UInt8(length & 0xFF), classAndID] + table.counts + table.values
        }
        out += [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]

        let codes = (dcY: Tables.dcLuminance.codes, acY: Tables.acLuminance.codes, dcC: Tables.dcChrominance.codes, acC: Tables.acChrominance.codes)
        var writer = JPEGBitWriter()
        var previousDC = [0, 0, 0]
        var block = [Double](repeating: 0, count: 64)
        for blockY in stride(from: 0, to: height, by: 8) {
            for blockX in stride(from: 0, to: width, by: 8) {
                for component in 0..<3 {
                    for y in 0..<8 {
                        let py = min(blockY + y, height - 1)
                        for x in 0..<8 {
                            let index = (py * width + min(blockX + x, width - 1)) * 3
                            let r = Double(rgb[index]), g = Double(rgb[index + 1]), b = Double(rgb[index + 2])
                            let value: Double = switch component {
                            case 0: 0.299 * r + 0.587 * g + 0.114 * b
                            case 1: -0.168736 * r - 0.331264 * g + 0.5 * b + 128
                            default: 0.5 * r - 0.418688 * g - 0.081312 * b + 128
                            }
                            block[y * 8 + x] = value - 128
                        }
                    }
                    let coefficients = forwardDCT(block)
                    let quant = component == 0 ? lumaQ : chromaQ
                    var zigzagged = [Int](repeating: 0, count: 64)
                    for k in 0..<64 {
                        let n = Tables.zigzag[k]
                        zigzagged[k] = Int((coefficients[n] / Double(quant[n])).rounded())
                    }
                    let dc = component == 0 ? codes.dcY : codes.dcC
                    let ac = component == 0 ? codes.acY : codes.acC
                    let diff = zigzagged[0] - previousDC[component]
                    previousDC[component] = zigzagged[0]
                    let dcCategory = magnitudeCategory(diff)
                    writer.write(dc[dcCategory])
                    writer.writeValue(diff, category: dcCategory)
                    var run = 0
                    for k in 1..<64 {
                        let value = zigzagged[k]
                        if value == 0 { run += 1; continue }
                        while run >= 16 { writer.write(ac[0xF0]); run -= 16 }
                        let category = magnitudeCategory(value)
                        writer.write(ac[(run << 4) | category])
                        writer.writeValue(value, category: category)
                        run = 0
                    }
                    if run > 0 { writer.write(ac[0x00]) }
                }
            }
        }
        out += writer.finish()
        out += [0xFF, 0xD9]
        return out
    }

    private static func scaled(_ base: [Int], quality: Int) -> [Int] {
        let q = max(1, min(100, quality))
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { max(1, min(255, ($0 * scale + 50) / 100)) }
    }

    private static func magnitudeCategory(_ value: Int) -> Int {
        var magnitude = abs(value)
        var bits = 0
        while magnitude > 0 { bits += 1; magnitude >>= 1 }
        return bits
    }

    private static let cosines: [[Double]] = (0..<8).map { (u: Int) -> [Double] in
        let scale: Double = u == 0 ? 0.5 / 2.0.squareRoot() : 0.5
        return (0..<8).map { (x: Int) -> Double in
            let angle = Double(2 * x + 1) * Double(u) * Double.pi / 16
            return cos(angle) * scale
        }
    }

    /// Separable 8×8 DCT-II, natural order in and out.
    private static func forwardDCT(_ block: [Double]) -> [Double] {
        var rows = [Double](repeating: 0, count: 64)
        for y in 0..<8 {
            for u in 0..<8 {
                var sum = 0.0
                for x in 0..<8 { sum += block[y * 8 + x] * cosines[u][x] }
                rows[y * 8 + u] = sum
            }
        }
        var out = [Double](repeating: 0, count: 64)
        for u in 0..<8 {
            for v in 0..<8 {
                var sum = 0.0
                for y in 0..<8 { sum += rows[y * 8 + u] * cosines[v][y] }
                out[v * 8 + u] = sum
            }
        }
        return out
    }

    struct HuffmanTable {
        let counts: [UInt8]      // BITS: codes of length 1…16
        let values: [UInt8]      // HUFFVAL
        /// symbol → (code, length), Annex C.
        var codes: [(code: UInt32, length: Int)] {
            var table = [(code: UInt32, length: Int)](repeating: (0, 0), count: 256)
            var code: UInt32 = 0
            var k = 0
            for length in 1...16 {
                for _ in 0..<Int(counts[length - 1]) {
                    table[Int(values[k])] = (code, length)
                    code += 1
                    k += 1
                }
                code <<= 1
            }
            return table
        }
    }

    enum Tables {
        static let zigzag = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
                             35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
        static let luminanceQuant = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                                     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                                     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
        static let chrominanceQuant = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
                                       47, 66, 99, 99, 99, 99, 99, 99] + [Int](repeating: 99, count: 32)
        static let dcLuminance = HuffmanTable(counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: Array(0...11))
        static let dcChrominance = HuffmanTable(counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: Array(0...11))
        static let acLuminance = HuffmanTable(counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D], values: [
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08,
            0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
            0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
            0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6,
            0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
            0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA])
        static let acChrominance = HuffmanTable(counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77], values: [
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
            0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
            0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
            0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
            0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4,
            0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
            0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA])
    }
}

/// MSB-first entropy-coded segment writer with 0xFF byte stuffing.
struct JPEGBitWriter {
    private var bytes: [UInt8] = []
    private var accumulator: UInt32 = 0
    private var count = 0

    mutating func write(_ code: (code: UInt32, length: Int)) { write(bits: code.code, length: code.length) }

    /// The low `category` bits of `value` (negative values as value − 1, JPEG's ones'-complement form).
    mutating func writeValue(_ value: Int, category: Int) {
        guard category > 0 else { return }
        let encoded = value < 0 ? value - 1 : value
        write(bits: UInt32(truncatingIfNeeded: encoded) & ((1 << UInt32(category)) - 1), length: category)
    }

    mutating func write(bits: UInt32, length: Int) {
        for shift in stride(from: length - 1, through: 0, by: -1) {
            accumulator = accumulator << 1 | ((bits >> UInt32(shift)) & 1)
            count += 1
            if count == 8 { emit() }
        }
    }

    private mutating func emit() {
        let byte = UInt8(accumulator & 0xFF)
        bytes.append(byte)
        if byte == 0xFF { bytes.append(0x00) }
        accumulator = 0
        count = 0
    }

    mutating func finish() -> [UInt8] {
        while count != 0 { write(bits: 1, length: 1) }   // pad with 1-bits
        return bytes
    }
}
