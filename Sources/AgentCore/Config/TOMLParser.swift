/// A small, strict TOML 1.0 parser for the agent's config file.
///
/// It replaces TOMLKit, whose C++ core (toml++) stops the whole process with assert() on some
/// malformed inputs (`[` alone on a line, `t=[}`, …). Here every malformed input is a `TOMLError`
/// with a line and a column; nothing traps, there are no force-unwraps, nesting is capped at
/// `maxDepth` levels and the input at `maxInputBytes`.
///
/// Supported: comments; bare, quoted and dotted keys; `[table]` and `[[array.of.tables]]` headers;
/// basic, literal and multi-line strings with all TOML 1.0 escapes; decimal, hex, octal and binary
/// integers with `_` separators; floats including exponents, `inf` and `nan`; booleans; date-times
/// (checked, kept as text); arrays (nested, multi-line, trailing comma, comments); inline tables.
/// Redefining a key or a table is an error, as TOML 1.0 says. TOML 1.1 additions (newlines and
/// trailing commas in inline tables, `\e`, `\xHH`, times without seconds) are refused with a message.
struct TOMLParser {
    /// Tables, arrays and inline tables nested deeper than this are refused.
    static let maxDepth = 64
    /// Texts longer than this (1 MiB) are refused.
    static let maxInputBytes = 1 << 20

    /// Parses `text` into its root table.
    static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        let size = text.utf8.count
        guard size <= maxInputBytes else {
            throw TOMLError(position: TOMLPosition(line: 1, column: 1),
                            message: "the text is \(size) bytes; a config file may be at most 1 MiB (\(maxInputBytes) bytes)")
        }
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    // MARK: - Cursor

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var position: TOMLPosition { TOMLPosition(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        let at = index + offset
        return at >= 0 && at < bytes.count ? bytes[at] : nil
    }

    private func peek(is text: String) -> Bool {
        for (offset, byte) in text.utf8.enumerated() where peek(offset) != byte { return false }
        return true
    }

    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count {
            guard index < bytes.count else { return }
            let byte = bytes[index]
            index += 1
            if byte == lf {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // not a UTF-8 continuation byte: a new scalar
                column += 1
            }
        }
    }

    private func error(_ message: String, at position: TOMLPosition? = nil) -> TOMLError {
        TOMLError(position: position ?? self.position, message: message)
    }

    /// What is at the cursor, for messages: "'x'", "the end of the line", "the end of the file", "U+0007".
    private var found: String {
        guard let byte = peek() else { return "the end of the file" }
        if byte == lf || (byte == cr && peek(1) == lf) { return "the end of the line" }
        if byte == cr { return "a carriage return without a line feed" }
        let end = min(index + 4, bytes.count)
        guard let scalar = String(decoding: bytes[index..<end], as: UTF8.self).unicodeScalars.first else { return "the end of the file" }
        return Self.describe(scalar)
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        if scalar.value < 0x20 || scalar.value == 0x7F || scalar.properties.generalCategory == .format {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return "'\(Character(scalar))'"
    }

    private static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != tab) || byte == 0x7F }

    // MARK: - Whitespace, comments, line ends

    private mutating func skipBlanks() {
        while let byte = peek(), byte == space || byte == tab { advance() }
    }

    /// A `#` comment up to (not including) the end of the line.
    private mutating func skipComment() throws(TOMLError) {
        guard peek() == hash else { return }
        while let byte = peek() {
            if byte == lf || (byte == cr && peek(1) == lf) { return }
            if Self.isControl(byte) { throw error("control character \(found) in a comment") }
            advance()
        }
    }

    private mutating func consumeNewline() throws(TOMLError) {
        if peek() == lf {
            advance()
        } else if peek() == cr, peek(1) == lf {
            advance(2)
        } else if peek() == cr {
            throw error("a carriage return must be followed by a line feed")
        }
    }

    /// After a key/value pair or a header: blanks, an optional comment, then the end of the line or file.
    private mutating func expectLineEnd(after what: @autoclosure () -> String) throws(TOMLError) {
        skipBlanks()
        try skipComment()
        guard peek() != nil else { return }
        guard peek() == lf || (peek() == cr && peek(1) == lf) else {
            throw error("expected the end of the line after \(what()), found \(found)")
        }
        try consumeNewline()
    }

    /// Inside arrays: blanks, comments and line ends.
    private mutating func skipBlanksCommentsAndNewlines() throws(TOMLError) {
        while let byte = peek() {
            switch byte {
            case space, tab: advance()
            case hash: try skipComment()
            case lf, cr: try consumeNewline()
            default: return
            }
        }
    }

    // MARK: - Document

    private mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }  // a UTF-8 byte order mark
        let root = TableBuilder(origin: .root, path: [], depth: 0, position: position)
        var current = root
        while true {
            skipBlanks()
            guard let byte = peek() else { break }
            switch byte {
            case hash:
                try skipComment()
            case lf, cr:
                try consumeNewline()
            case openBracket:
                let (table, header) = try parseHeader(root: root)
                current = table
                try expectLineEnd(after: "the table header \(header)")
            default:
                let key = try parseKeyValue(into: current)
                try expectLineEnd(after: "the value of \(TOMLTable.spell(path: key))")
            }
        }
        return root.build()
    }

    // MARK: - Keys

    private struct KeyPart {
        let name: String
        let position: TOMLPosition
    }

    /// A simple or dotted key. `expected` names what was wanted if no key is there.
    private mutating func parseKey(expected: String) throws(TOMLError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            let start = position
            let name: String
            switch peek() {
            case quote?:
                guard !peek(is: "\"\"\"") else { throw error("a multi-line string cannot be a key") }
                name = try parseBasicString()
            case apostrophe?:
                guard !peek(is: "'''") else { throw error("a multi-line string cannot be a key") }
                name = try parseLiteralString()
            case let byte? where Self.isBareKeyByte(byte):
                let from = index
                while let next = peek(), Self.isBareKeyByte(next) { advance() }
                name = String(decoding: bytes[from..<index], as: UTF8.self)
            default:
                if parts.isEmpty { throw error("expected \(expected), found \(found)") }
                throw error("expected a key after '.' in \(TOMLTable.spell(path: parts.map(\.name))), found \(found)")
            }
            parts.append(KeyPart(name: name, position: start))
            skipBlanks()
            guard peek() == dot else { return parts }
            advance()
            skipBlanks()
        }
    }

    /// `key = value` into `table`; returns the key's path for messages.
    private mutating func parseKeyValue(into table: TableBuilder) throws(TOMLError) -> [String] {
        let key = try parseKey(expected: "a key, a [table] header or a comment")
        let names = key.map(\.name)
        guard peek() == equals else {
            throw error("expected '=' after the key \(TOMLTable.spell(path: names)), found \(found)")
        }
        advance()
        skipBlanks()
        let (target, last) = try descendDotted(table, key)
        let value = try parseValue(depth: target.depth + 1, expected: "the value of \(TOMLTable.spell(path: names))")
        target.insert(last.name, .value(value, last.position))
        return names
    }

    /// For `a.b.c = …` in `table`: finds or creates the tables `a` and `a.b` and checks that `c` is new.
    private func descendDotted(_ table: TableBuilder, _ key: [KeyPart]) throws(TOMLError) -> (TableBuilder, KeyPart) {
        guard let last = key.last else { throw error("expected a key") }
        var current = table
        for part in key.dropLast() {
            let path = current.path + [part.name]
            var spelled: String { TOMLTable.spell(path: path) }
            switch current.slots[part.name] {
            case nil:
                let child = try makeTable(.dotted, path: path, depth: current.depth + 1, at: part.position)
                current.insert(part.name, .table(child, part.position))
                current = child
            case .table(let child, _)?:
                guard child.origin == .dotted else {
                    throw error("the table [\(spelled)] was created by a table header at line \(child.definedAt.line); "
                                + "a dotted key cannot add to it", at: part.position)
                }
                current = child
            case .tables(_, let at)?:
                throw error("\(spelled) is an array of tables (line \(at.line)); a dotted key cannot add to it", at: part.position)
            case .value(let value, let at)?:
                let what = if case .table = value { "an inline table, which cannot be extended" } else { value.typeName + ", not a table" }
                throw error("\(spelled) is already defined at line \(at.line) as \(what)", at: part.position)
            }
        }
        if let existing = current.slots[last.name] {
            throw error("the key \(TOMLTable.spell(path: current.path + [last.name])) is defined twice "
                        + "(first at line \(existing.position.line))", at: last.position)
        }
        return (current, last)
    }

    private func makeTable(_ origin: TableBuilder.Origin, path: [String], depth: Int, at position: TOMLPosition) throws(TOMLError) -> TableBuilder {
        guard depth <= Self.maxDepth else {
            throw error("tables, arrays and inline tables nest more than \(Self.maxDepth) levels deep", at: position)
        }
        return TableBuilder(origin: origin, path: path, depth: depth, position: position)
    }

    // MARK: - Table headers

    /// `[a.b]` or `[[a.b]]`; returns the table that the following keys go into, and the header as written.
    private mutating func parseHeader(root: TableBuilder) throws(TOMLError) -> (TableBuilder, String) {
        let start = position
        advance()
        let isArray = peek() == openBracket
        if isArray { advance() }
        skipBlanks()
        let key = try parseKey(expected: isArray ? "a name after '[[' (an array-of-tables header)" : "a table name after '['")
        let names = key.map(\.name)
        let header = isArray ? "[[\(TOMLTable.spell(path: names))]]" : "[\(TOMLTable.spell(path: names))]"
        if isArray {
            guard peek(is: "]]") else { throw error("expected ']]' to close \(header), found \(found)") }
            advance(2)
        } else {
            guard peek() == closeBracket else { throw error("expected ']' to close \(header), found \(found)") }
            advance()
        }
        guard let last = key.last else { throw error("expected a table name", at: start) }

        var current = root
        for part in key.dropLast() {
            let path = current.path + [part.name]
            switch current.slots[part.name] {
            case nil:
                let child = try makeTable(.implicit, path: path, depth: current.depth + 1, at: part.position)
                current.insert(part.name, .table(child, part.position))
                current = child
            case .table(let child, _)?:
                current = child
            case .tables(let array, _)?:
                guard let element = array.tables.last else { throw error("\(header): empty array of tables", at: part.position) }
                current = element
            case .value(let value, let at)?:
                throw error("\(header) cannot be opened: \(TOMLTable.spell(path: path)) is \(value.typeName) "
                            + "(defined at line \(at.line)), not a table", at: part.position)
            }
        }
        let path = current.path + [last.name]
        let spelled = TOMLTable.spell(path: path)
        if isArray {
            switch current.slots[last.name] {
            case nil:
                let array = TableArrayBuilder()
                let element = try makeTable(.header, path: path, depth: current.depth + 1, at: start)
                array.tables.append(element)
                current.insert(last.name, .tables(array, start))
                return (element, header)
            case .tables(let array, _)?:
                let element = try makeTable(.header, path: path, depth: current.depth + 1, at: start)
                array.tables.append(element)
                return (element, header)
            case .table(let table, _)?:
                throw error("\(header) conflicts with the table \(spelled) defined at line \(table.definedAt.line)", at: start)
            case .value(let value, let at)?:
                throw error("\(header) conflicts with the key \(spelled) defined at line \(at.line) as \(value.typeName)", at: start)
            }
        } else {
            switch current.slots[last.name] {
            case nil:
                let table = try makeTable(.header, path: path, depth: current.depth + 1, at: start)
                current.insert(last.name, .table(table, start))
                return (table, header)
            case .table(let table, _)? where table.origin == .implicit:
                table.origin = .header
                table.definedAt = start
                return (table, header)
            case .table(let table, _)? where table.origin == .dotted:
                throw error("the table \(header) is already defined by dotted keys at line \(table.definedAt.line)", at: start)
            case .table(let table, _)?:
                throw error("the table \(header) is defined twice (first at line \(table.definedAt.line))", at: start)
            case .tables(_, let at)?:
                throw error("\(spelled) is an array of tables (line \(at.line)); use [[\(spelled)]] to add an element", at: start)
            case .value(let value, let at)?:
                throw error("\(header) conflicts with the key \(spelled) defined at line \(at.line) as \(value.typeName)", at: start)
            }
        }
    }

    // MARK: - Values

    /// A value that sits `depth` levels deep (the root table is level 0).
    private mutating func parseValue(depth: Int, expected: @autoclosure () -> String) throws(TOMLError) -> TOMLValue {
        guard let byte = peek() else { throw error("expected \(expected()), found the end of the file") }
        switch byte {
        case quote:
            return .string(peek(is: "\"\"\"") ? try parseMultilineBasicString() : try parseBasicString())
        case apostrophe:
            return .string(peek(is: "'''") ? try parseMultilineLiteralString() : try parseLiteralString())
        case openBracket:
            guard depth <= Self.maxDepth else { throw error("tables, arrays and inline tables nest more than \(Self.maxDepth) levels deep") }
            return try parseArray(depth: depth)
        case openBrace:
            guard depth <= Self.maxDepth else { throw error("tables, arrays and inline tables nest more than \(Self.maxDepth) levels deep") }
            return try parseInlineTable(depth: depth)
        default:
            guard Self.isTokenByte(byte) else { throw error("expected \(expected()), found \(found)") }
            return try parseScalarToken(expected: expected())
        }
    }

    /// Bytes that can make up a boolean, number or date-time.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == dot || byte == UInt8(ascii: ":")
    }

    private mutating func parseScalarToken(expected: @autoclosure () -> String) throws(TOMLError) -> TOMLValue {
        let start = position
        let from = index
        while let byte = peek(), Self.isTokenByte(byte) { advance() }
        // A date and a time may be separated by a space: "1979-05-27 07:32:00".
        if index - from == 10, bytes[from + 4] == minus, bytes[from + 7] == minus, peek() == space,
           let h1 = peek(1), let h2 = peek(2), isDigit(h1), isDigit(h2), peek(3) == UInt8(ascii: ":") {
            advance()
            while let byte = peek(), Self.isTokenByte(byte) { advance() }
        }
        let token = Array(bytes[from..<index])
        let text = String(decoding: token, as: UTF8.self)
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan": return .float(.nan)
        case "-nan": return .float(-.nan)
        default: break
        }
        let looksLikeDate = token.count >= 5 && token[0..<4].allSatisfy(isDigit) && token[4] == minus
        let looksLikeTime = token.count >= 3 && isDigit(token[0]) && isDigit(token[1]) && token[2] == UInt8(ascii: ":")
        if looksLikeDate || looksLikeTime {
            if let problem = Self.dateTimeProblem(token) { throw error("invalid date-time \(text): \(problem)", at: start) }
            return .dateTime(text)
        }
        if let first = token.first, isDigit(first) || first == UInt8(ascii: "+") || first == minus || first == dot {
            switch Self.number(token) {
            case .success(let value): return value
            case .failure(let problem): throw error("invalid number \(text): \(problem.message)", at: start)
            }
        }
        let hint = switch text.lowercased() {
        case "true", "false": " (booleans are written true or false, in lower case)"
        case "inf", "+inf", "-inf", "nan", "+nan", "-nan": " (write inf and nan in lower case)"
        default: " (strings must be quoted: \"…\")"
        }
        throw error("expected \(expected()), found '\(text)'\(hint)", at: start)
    }

    // MARK: Numbers

    private struct Problem: Error { let message: String }

    private static func number(_ token: [UInt8]) -> Result<TOMLValue, Problem> {
        var rest = token[...]
        var negative = false
        var signed = false
        if let first = rest.first, first == UInt8(ascii: "+") || first == minus {
            negative = first == minus
            signed = true
            rest = rest.dropFirst()
        }
        if rest.count >= 2, rest.first == zero, let marker = rest.dropFirst().first,
           marker == UInt8(ascii: "x") || marker == UInt8(ascii: "o") || marker == UInt8(ascii: "b") {
            guard !signed else { return .failure(Problem(message: "hexadecimal, octal and binary integers take no sign")) }
            let radix: UInt64 = marker == UInt8(ascii: "x") ? 16 : marker == UInt8(ascii: "o") ? 8 : 2
            guard let digits = digitRun(rest.dropFirst(2), radix: radix), digits.end == rest.endIndex else {
                return .failure(Problem(message: "expected digits after 0\(Character(Unicode.Scalar(marker))), with '_' only between digits"))
            }
            var value: UInt64 = 0
            for digit in digits.values {
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
                let (sum, overflow2) = shifted.addingReportingOverflow(digit)
                guard !overflow1, !overflow2, sum <= UInt64(Int64.max) else {
                    return .failure(Problem(message: "it does not fit in a 64-bit integer"))
                }
                value = sum
            }
            return .success(.integer(Int64(value)))
        }
        // Decimal integer or float: int-part [ '.' digits ] [ ('e' | 'E') [sign] digits ]
        guard let integer = digitRun(rest, radix: 10) else {
            return .failure(Problem(message: "expected digits, with '_' only between digits"))
        }
        if integer.values.count > 1, integer.values.first == 0 {
            return .failure(Problem(message: "leading zeros are not allowed"))
        }
        var cursor = integer.end
        var decimal = (negative ? "-" : "") + integer.values.map { String($0) }.joined()
        var isFloat = false
        if cursor < rest.endIndex, rest[cursor] == dot {
            guard let fraction = digitRun(rest[(cursor + 1)...], radix: 10) else {
                return .failure(Problem(message: "a float needs digits after the '.', with '_' only between digits"))
            }
            decimal += "." + fraction.values.map { String($0) }.joined()
            cursor = fraction.end
            isFloat = true
        }
        if cursor < rest.endIndex, rest[cursor] == UInt8(ascii: "e") || rest[cursor] == UInt8(ascii: "E") {
            var exponentStart = cursor + 1
            var exponentSign = ""
            if exponentStart < rest.endIndex, rest[exponentStart] == UInt8(ascii: "+") || rest[exponentStart] == minus {
                exponentSign = rest[exponentStart] == minus ? "-" : ""
                exponentStart += 1
            }
            guard let exponent = digitRun(rest[exponentStart...], radix: 10) else {
                return .failure(Problem(message: "an exponent needs digits, with '_' only between digits"))
            }
            decimal += "e" + exponentSign + exponent.values.map { String($0) }.joined()
            cursor = exponent.end
            isFloat = true
        }
        guard cursor == rest.endIndex else {
            return .failure(Problem(message: "unexpected '\(Character(Unicode.Scalar(rest[cursor])))'"))
        }
        if isFloat {
            guard let value = Double(decimal) else { return .failure(Problem(message: "not a float")) }
            guard value.isFinite else { return .failure(Problem(message: "it is too large for a 64-bit float")) }
            return .success(.float(value))
        }
        guard let value = Int64(decimal) else { return .failure(Problem(message: "it does not fit in a 64-bit integer")) }
        return .success(.integer(value))
    }

    /// One or more digits of `radix` with single '_' between digits, from the start of `bytes`.
    /// Returns the digit values and the index after the run, or nil if there is no digit or an '_' is misplaced.
    private static func digitRun(_ bytes: ArraySlice<UInt8>, radix: UInt64) -> (values: [UInt64], end: Int)? {
        var values: [UInt64] = []
        var cursor = bytes.startIndex
        var afterUnderscore = false
        while cursor < bytes.endIndex {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "_") {
                guard !values.isEmpty, !afterUnderscore else { return nil }
                afterUnderscore = true
            } else if let digit = digitValue(byte), digit < radix {
                values.append(digit)
                afterUnderscore = false
            } else {
                break
            }
            cursor += 1
        }
        guard !values.isEmpty, !afterUnderscore else { return nil }
        return (values, cursor)
    }

    private static func digitValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    // MARK: Date-times

    /// Why `token` is not a TOML 1.0 offset date-time, local date-time, local date or local time; nil if it is one.
    private static func dateTimeProblem(_ token: [UInt8]) -> String? {
        var cursor = 0
        func number(_ count: Int) -> Int? {
            guard cursor + count <= token.count else { return nil }
            var value = 0
            for byte in token[cursor..<(cursor + count)] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            cursor += count
            return value
        }
        func take(_ byte: UInt8) -> Bool {
            guard cursor < token.count, token[cursor] == byte else { return false }
            cursor += 1
            return true
        }
        func time() -> String? {
            guard let hour = number(2), hour <= 23 else { return "expected an hour 00 to 23" }
            guard take(UInt8(ascii: ":")), let minute = number(2), minute <= 59 else { return "expected ':' and minutes 00 to 59 after the hour" }
            guard take(UInt8(ascii: ":")) else { return "expected ':' and seconds after the minutes (TOML 1.0 requires seconds)" }
            guard let second = number(2), second <= 60 else { return "expected seconds 00 to 60" }
            if take(dot) {
                guard number(1) != nil else { return "expected digits after the '.' of the seconds" }
                while cursor < token.count, isDigit(token[cursor]) { cursor += 1 }
            }
            return nil
        }
        if token.count >= 3, token[2] == UInt8(ascii: ":") {  // a local time
            if let problem = time() { return problem }
            return cursor == token.count ? nil : "unexpected text after the time"
        }
        guard let year = number(4), take(minus), let month = number(2), take(minus), let day = number(2) else {
            return "expected a date like 1979-05-27"
        }
        guard (1...12).contains(month) else { return "there is no month \(month)" }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return "day \(day) is not in month \(month) of \(year)" }
        if cursor == token.count { return nil }  // a local date
        guard take(UInt8(ascii: "T")) || take(UInt8(ascii: "t")) || take(space) else {
            return "expected 'T' or a space between the date and the time"
        }
        if let problem = time() { return problem }
        if cursor == token.count { return nil }  // a local date-time
        if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) {
            return cursor == token.count ? nil : "unexpected text after the 'Z'"
        }
        guard take(UInt8(ascii: "+")) || take(minus) else { return "expected 'Z' or an offset like +01:00 after the time" }
        guard let hours = number(2), hours <= 23, take(UInt8(ascii: ":")), let minutes = number(2), minutes <= 59 else {
            return "expected an offset like +01:00"
        }
        return cursor == token.count ? nil : "unexpected text after the offset"
    }

    // MARK: Strings

    /// `"…"`; the cursor is on the opening quote.
    private mutating func parseBasicString() throws(TOMLError) -> String {
        let start = position
        advance()
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated string: no closing '\"' before the end of the file", at: start) }
            switch byte {
            case quote:
                advance()
                return String(decoding: out, as: UTF8.self)
            case backslash:
                try parseEscape(into: &out)
            case lf, cr:
                throw error("unterminated string: no closing '\"' on this line (use \"\"\" for a multi-line string)", at: start)
            default:
                if Self.isControl(byte) { throw error("control character \(found) in a string; write it as an escape like \\u0007") }
                out.append(byte)
                advance()
            }
        }
    }

    /// `"""…"""`; the cursor is on the first of the three quotes.
    private mutating func parseMultilineBasicString() throws(TOMLError) -> String {
        let start = position
        advance(3)
        try skipNewlineAfterOpeningDelimiter()
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string: no closing \"\"\"", at: start) }
            if byte == quote, peek(is: "\"\"\"") {
                try closeMultiline(quote, into: &out)
                return String(decoding: out, as: UTF8.self)
            }
            if byte == backslash {
                // A backslash at the end of a line removes the line end and the blanks that follow.
                var ahead = 1
                while let next = peek(ahead), next == space || next == tab { ahead += 1 }
                if peek(ahead) == lf || (peek(ahead) == cr && peek(ahead + 1) == lf) {
                    advance(ahead)
                    while let next = peek(), next == space || next == tab || next == lf || next == cr {
                        if next == cr { try consumeNewline() } else { advance() }
                    }
                } else {
                    try parseEscape(into: &out)
                }
                continue
            }
            try appendMultilineByte(byte, into: &out)
        }
    }

    /// `'…'`; the cursor is on the opening apostrophe.
    private mutating func parseLiteralString() throws(TOMLError) -> String {
        let start = position
        advance()
        let from = index
        while true {
            guard let byte = peek() else { throw error("unterminated string: no closing \"'\" before the end of the file", at: start) }
            switch byte {
            case apostrophe:
                let text = String(decoding: bytes[from..<index], as: UTF8.self)
                advance()
                return text
            case lf, cr:
                throw error("unterminated string: no closing \"'\" on this line (use ''' for a multi-line string)", at: start)
            default:
                if Self.isControl(byte) { throw error("control character \(found) in a literal string") }
                advance()
            }
        }
    }

    /// `'''…'''`; the cursor is on the first of the three apostrophes.
    private mutating func parseMultilineLiteralString() throws(TOMLError) -> String {
        let start = position
        advance(3)
        try skipNewlineAfterOpeningDelimiter()
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string: no closing '''", at: start) }
            if byte == apostrophe, peek(is: "'''") {
                try closeMultiline(apostrophe, into: &out)
                return String(decoding: out, as: UTF8.self)
            }
            try appendMultilineByte(byte, into: &out)
        }
    }

    private mutating func skipNewlineAfterOpeningDelimiter() throws(TOMLError) {
        if peek() == lf || (peek() == cr && peek(1) == lf) { try consumeNewline() }
    }

    /// At three or more delimiters: up to two of them belong to the string, then three close it.
    private mutating func closeMultiline(_ delimiter: UInt8, into out: inout [UInt8]) throws(TOMLError) {
        var run = 0
        while peek(run) == delimiter { run += 1 }
        guard run <= 5 else {
            let name = delimiter == quote ? "quotes" : "apostrophes"
            throw error("\(run) \(name) in a row: a multi-line string may hold at most two in a row before it closes")
        }
        out.append(contentsOf: repeatElement(delimiter, count: run - 3))
        advance(run)
    }

    /// One byte of a multi-line string body: line ends become "\n"; other control characters are refused.
    private mutating func appendMultilineByte(_ byte: UInt8, into out: inout [UInt8]) throws(TOMLError) {
        if byte == lf || byte == cr {
            try consumeNewline()
            out.append(lf)
            return
        }
        if Self.isControl(byte) { throw error("control character \(found) in a string") }
        out.append(byte)
        advance()
    }

    /// `\…` in a basic string; the cursor is on the backslash.
    private mutating func parseEscape(into out: inout [UInt8]) throws(TOMLError) {
        let start = position
        advance()
        guard let code = peek() else { throw error("unterminated string: the file ends after a backslash", at: start) }
        let simple: UInt8? = switch code {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): tab
        case UInt8(ascii: "n"): lf
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): cr
        case quote: quote
        case backslash: backslash
        default: nil
        }
        if let simple {
            out.append(simple)
            advance()
            return
        }
        guard code == UInt8(ascii: "u") || code == UInt8(ascii: "U") else {
            let shown = code == lf || code == cr
                ? "\\ at the end of the line (only multi-line strings may continue a line)"
                : "\\" + found.trimmingQuotes
            throw error("unknown escape \(shown); write \\\\ for a backslash", at: start)
        }
        let count = code == UInt8(ascii: "u") ? 4 : 8
        advance()
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let byte = peek(), let digit = Self.digitValue(byte) else {
                throw error("\\\(Character(Unicode.Scalar(code))) needs exactly \(count) hexadecimal digits", at: start)
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("\\\(Character(Unicode.Scalar(code)))\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value", at: start)
        }
        UTF8.encode(scalar) { out.append($0) }
    }

    // MARK: Arrays and inline tables

    /// `[ … ]`; the cursor is on the '['.
    private mutating func parseArray(depth: Int) throws(TOMLError) -> TOMLValue {
        let start = position
        advance()
        var items: [TOMLValue] = []
        while true {
            try skipBlanksCommentsAndNewlines()
            guard peek() != nil else {
                throw error("unterminated array: no closing ']' (the array starts at line \(start.line), column \(start.column))")
            }
            if peek() == closeBracket {
                advance()
                return .array(items)
            }
            items.append(try parseValue(depth: depth + 1, expected: "a value or ']' in the array"))
            try skipBlanksCommentsAndNewlines()
            switch peek() {
            case comma?:
                advance()
            case closeBracket?:
                advance()
                return .array(items)
            case nil:
                throw error("unterminated array: no closing ']' (the array starts at line \(start.line), column \(start.column))")
            default:
                throw error("expected ',' or ']' after a value in the array, found \(found)")
            }
        }
    }

    /// `{ key = value, … }` on one line; the cursor is on the '{'.
    private mutating func parseInlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        let start = position
        advance()
        let table = TableBuilder(origin: .inline, path: [], depth: depth, position: start)
        skipBlanks()
        if peek() == closeBrace {
            advance()
            return .table(table.build())
        }
        while true {
            skipBlanks()
            try refuseLineEndInInlineTable()
            if peek() == closeBrace { throw error("a trailing comma is not allowed in an inline table (TOML 1.0)") }
            let key = try parseKey(expected: "a key in the inline table")
            let names = key.map(\.name)
            guard peek() == equals else {
                throw error("expected '=' after the key \(TOMLTable.spell(path: names)) in the inline table, found \(found)")
            }
            advance()
            skipBlanks()
            let (target, last) = try descendDotted(table, key)
            let value = try parseValue(depth: target.depth + 1, expected: "the value of \(TOMLTable.spell(path: names))")
            target.insert(last.name, .value(value, last.position))
            skipBlanks()
            try refuseLineEndInInlineTable()
            switch peek() {
            case comma?:
                advance()
            case closeBrace?:
                advance()
                return .table(table.build())
            case nil:
                throw error("unterminated inline table: no closing '}' (it starts at line \(start.line), column \(start.column))")
            default:
                throw error("expected ',' or '}' after the value of \(TOMLTable.spell(path: names)) in the inline table, found \(found)")
            }
        }
    }

    private func refuseLineEndInInlineTable() throws(TOMLError) {
        if peek() == lf || peek() == cr || peek() == hash {
            throw error("an inline table must stay on one line with no comments (TOML 1.0); use a [table] header for a longer one")
        }
    }
}

// MARK: - Building the tree

/// A table while the document is read: it remembers how it was made, which decides what may add to it.
private final class TableBuilder {
    enum Origin {
        case root
        /// Made on the way to a deeper header (`a` for `[a.b]`); a later `[a]` may still define it.
        case implicit
        case header
        /// Made by a dotted key (`a` for `a.b = 1`); only more dotted keys in the same table may add to it.
        case dotted
        /// `{ … }`: closed once its '}' is read.
        case inline
    }

    enum Slot {
        case value(TOMLValue, TOMLPosition)
        case table(TableBuilder, TOMLPosition)
        case tables(TableArrayBuilder, TOMLPosition)

        var position: TOMLPosition {
            switch self {
            case .value(_, let position), .table(_, let position), .tables(_, let position): position
            }
        }
    }

    var origin: Origin
    let path: [String]
    let depth: Int
    var definedAt: TOMLPosition
    private(set) var slots: [String: Slot] = [:]
    private var order: [String] = []

    init(origin: Origin, path: [String], depth: Int, position: TOMLPosition) {
        self.origin = origin
        self.path = path
        self.depth = depth
        self.definedAt = position
    }

    func insert(_ key: String, _ slot: Slot) {
        if slots.updateValue(slot, forKey: key) == nil { order.append(key) }
    }

    /// The finished table. Recursion is bounded: tables nest at most `TOMLParser.maxDepth` deep.
    func build() -> TOMLTable {
        var table = TOMLTable()
        for key in order {
            switch slots[key] {
            case .value(let value, let position)?: table.set(key, value, at: position)
            case .table(let child, let position)?: table.set(key, .table(child.build()), at: position)
            case .tables(let array, let position)?: table.set(key, .array(array.tables.map { .table($0.build()) }), at: position)
            case nil: continue
            }
        }
        return table
    }
}

private final class TableArrayBuilder {
    var tables: [TableBuilder] = []
}

private extension String {
    /// "'x'" → "x", for messages that already quote.
    var trimmingQuotes: String {
        hasPrefix("'") && hasSuffix("'") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

private let lf: UInt8 = 0x0A
private let cr: UInt8 = 0x0D
private let tab: UInt8 = 0x09
private let space: UInt8 = 0x20
private let hash = UInt8(ascii: "#")
private let quote = UInt8(ascii: "\"")
private let apostrophe = UInt8(ascii: "'")
private let backslash = UInt8(ascii: "\\")
private let openBracket = UInt8(ascii: "[")
private let closeBracket = UInt8(ascii: "]")
private let openBrace = UInt8(ascii: "{")
private let closeBrace = UInt8(ascii: "}")
private let equals = UInt8(ascii: "=")
private let comma = UInt8(ascii: ",")
private let dot = UInt8(ascii: ".")
private let minus = UInt8(ascii: "-")
private let zero = UInt8(ascii: "0")
