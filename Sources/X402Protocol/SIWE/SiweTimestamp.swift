/// An RFC 3339 `date-time` as it appears in a SIWE message. The text is kept verbatim (a
/// received timestamp is signed as sent and never re-formatted); `milliseconds` is the instant.
public struct SiweTimestamp: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    /// Unix milliseconds (UTC, offset applied, fraction truncated to ms).
    public let milliseconds: Int64

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; field names the line in errors.
    public init(parsing text: String, field: String = "timestamp") throws(X402Error) {
        guard let ms = Self.parseMilliseconds(Array(text.utf8)) else {
            throw .siweInvalidTimestamp(field: field, value: text)
        }
        self.text = text
        self.milliseconds = ms
    }

    /// Renders `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, milliseconds), as siwe/viem do.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
        self.text = Self.render(milliseconds)
    }

    public var description: String { text }

    static func render(_ ms: Int64) -> String {
        var millis = ms % 86_400_000
        var days = ms / 86_400_000
        if millis < 0 { millis += 86_400_000; days -= 1 }
        let (y, mo, d) = CivilTime.civilFromDays(days)
        let secs = Int(millis / 1000), frac = Int(millis % 1000)
        let year = max(0, min(9999, y))
        // 24 bytes: YYYY-MM-DDTHH:MM:SS.sssZ
        return String(unsafeUninitializedCapacity: 24) { buf in
            func put(_ v: Int, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: width - 1, through: 0, by: -1) {
                    buf[i + k] = UInt8(48 + v % 10); v /= 10
                }
            }
            put(year, 4, at: 0); buf[4] = 45
            put(mo, 2, at: 5); buf[7] = 45
            put(d, 2, at: 8); buf[10] = 84
            put(secs / 3600, 2, at: 11); buf[13] = 58
            put(secs / 60 % 60, 2, at: 14); buf[16] = 58
            put(secs % 60, 2, at: 17); buf[19] = 46
            put(frac, 3, at: 20); buf[23] = 90
            return 24
        }
    }

    static func parseMilliseconds(_ b: [UInt8]) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2),
              (1...12).contains(month), day >= 1, day <= CivilTime.daysInMonth(year: year, month: month),
              expect(84), // "T"
              let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var millis = 0
        if i < b.count, b[i] == 46 { // "."
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if i - start < 3 { millis = millis * 10 + Int(b[i] - 48) }
                i += 1
            }
            guard i > start else { return nil }
            for _ in 0..<max(0, 3 - (i - start)) { millis *= 10 }
        }
        var offsetMinutes = 0
        guard i < b.count else { return nil }
        if b[i] == 90 { // "Z"
            i += 1
        } else if b[i] == 43 || b[i] == 45 { // + / -
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(58), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilTime.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }
}
