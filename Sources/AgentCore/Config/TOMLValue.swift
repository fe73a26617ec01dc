/// The values of a parsed TOML document (see `TOMLParser`). A document is a `TOMLTable`.

/// A place in the TOML text: the line (from 1) and the column (from 1, in Unicode scalars).
struct TOMLPosition: Sendable, Hashable, CustomStringConvertible {
    var line: Int
    var column: Int

    var description: String { "\(line):\(column)" }
}

/// Why a TOML text was refused, and where. `description` reads "3:7: expected '=' after the key ring".
struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    let position: TOMLPosition
    let message: String

    var line: Int { position.line }
    var column: Int { position.column }
    var description: String { "\(position): \(message)" }
}

indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    /// Any IEEE 754 double, including `inf` and `nan` (TOML allows them; callers decide).
    case float(Double)
    case boolean(Bool)
    /// An offset or local date-time, a local date or a local time, checked against TOML 1.0 and kept
    /// exactly as written (nothing here needs a calendar).
    case dateTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    /// "a string", "an integer", …: for messages such as "max_in_flight must be an integer, not a string".
    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .dateTime: "a date-time"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table: its keys in the order they were first written, each with the place of its key.
struct TOMLTable: Sendable, Equatable {
    struct Entry: Sendable {
        let key: String
        let value: TOMLValue
        /// Where the key (for a dotted key, its part) or the table header was written.
        let position: TOMLPosition
    }

    private(set) var entries: [Entry] = []
    private var indices: [String: Int] = [:]

    init() {}

    var keys: [String] { entries.map(\.key) }
    var isEmpty: Bool { entries.isEmpty }

    subscript(key: String) -> TOMLValue? { entry(key)?.value }

    func entry(_ key: String) -> Entry? {
        guard let index = indices[key], entries.indices.contains(index) else { return nil }
        return entries[index]
    }

    /// Adds `key`, or replaces its value if it is already there (the parser never does the latter).
    mutating func set(_ key: String, _ value: TOMLValue, at position: TOMLPosition) {
        if let index = indices[key], entries.indices.contains(index) {
            entries[index] = Entry(key: key, value: value, position: position)
        } else {
            indices[key] = entries.count
            entries.append(Entry(key: key, value: value, position: position))
        }
    }

    /// Equal keys in the same order with equal values; positions do not count.
    static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// A key as TOML would spell it: bare when it can be, quoted otherwise.
    static func spell(_ key: String) -> String {
        !key.isEmpty && key.utf8.allSatisfy(TOMLParser.isBareKeyByte) ? key : quote(key)
    }

    /// `text` as a TOML basic string, with quotes, backslashes and control characters escaped.
    static func quote(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    quoted += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }

    /// A dotted key path as TOML would spell it, e.g. `payments.topup_cap_usd` or `a."b.c"`.
    static func spell(path: [String]) -> String { path.map(spell).joined(separator: ".") }
}

/// Inline TOML, e.g. `{a = 1, b = ["x", 2.5], c = {d = true}}`: stable, for messages and comparisons.
extension TOMLTable: CustomStringConvertible {
    var description: String {
        "{" + entries.map { "\(Self.spell($0.key)) = \($0.value)" }.joined(separator: ", ") + "}"
    }
}

extension TOMLValue: CustomStringConvertible {
    var description: String {
        switch self {
        case .string(let text): TOMLTable.quote(text)
        case .integer(let value): String(value)
        case .float(let value): value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : "\(value)"
        case .boolean(let value): String(value)
        case .dateTime(let text): text
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .table(let table): table.description
        }
    }
}

extension TOMLTable: ExpressibleByDictionaryLiteral {
    init(dictionaryLiteral elements: (String, TOMLValue)...) {
        for (key, value) in elements { set(key, value, at: TOMLPosition(line: 0, column: 0)) }
    }
}

extension TOMLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(floatLiteral value: Double) { self = .float(value) }
    init(booleanLiteral value: Bool) { self = .boolean(value) }
    init(arrayLiteral elements: TOMLValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, TOMLValue)...) {
        var table = TOMLTable()
        for (key, value) in elements { table.set(key, value, at: TOMLPosition(line: 0, column: 0)) }
        self = .table(table)
    }
}
