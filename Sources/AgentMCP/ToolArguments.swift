public import MCP

/// A tool call's arguments with typed, checked accessors: a wrong type is a `badArgument`
/// naming the field, never a crash.
public struct ToolArguments: Sendable {
    public let values: [String: Value]

    public init(_ values: [String: Value]?) { self.values = values ?? [:] }

    public func string(_ name: String) throws(ToolFailure) -> String? {
        guard let value = present(name) else { return nil }
        guard let text = value.stringValue else { throw .badArgument(name: name, reason: "must be a string") }
        return text
    }

    public func requiredString(_ name: String) throws(ToolFailure) -> String {
        guard let text = try string(name), !text.isEmpty else { throw .badArgument(name: name, reason: "is required") }
        return text
    }

    /// An integer; a JSON number with no fraction (`2.0`) counts, as hosts send either.
    public func int(_ name: String, in range: ClosedRange<Int>? = nil) throws(ToolFailure) -> Int? {
        guard let value = present(name) else { return nil }
        let number: Int?
        switch value {
        case .int(let n): number = n
        case .double(let d): number = Int(exactly: d)
        case .string(let s): number = Int(s)
        default: number = nil
        }
        guard let number else { throw .badArgument(name: name, reason: "must be a whole number") }
        if let range, !range.contains(number) {
            throw .badArgument(name: name, reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    public func double(_ name: String, in range: ClosedRange<Double>? = nil) throws(ToolFailure) -> Double? {
        guard let value = present(name) else { return nil }
        let number: Double?
        switch value {
        case .int(let n): number = Double(n)
        case .double(let d): number = d.isFinite ? d : nil
        case .string(let s): number = Double(s).flatMap { $0.isFinite ? $0 : nil }
        default: number = nil
        }
        guard let number else { throw .badArgument(name: name, reason: "must be a number") }
        if let range, !range.contains(number) {
            throw .badArgument(name: name, reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    public func bool(_ name: String) throws(ToolFailure) -> Bool? {
        guard let value = present(name) else { return nil }
        switch value {
        case .bool(let b): return b
        case .string("true"): return true
        case .string("false"): return false
        default: throw .badArgument(name: name, reason: "must be true or false")
        }
    }

    public func array(_ name: String) throws(ToolFailure) -> [Value]? {
        guard let value = present(name) else { return nil }
        guard let items = value.arrayValue else { throw .badArgument(name: name, reason: "must be an array") }
        return items
    }

    public func object(_ name: String) throws(ToolFailure) -> [String: Value]? {
        guard let value = present(name) else { return nil }
        guard let object = value.objectValue else { throw .badArgument(name: name, reason: "must be an object") }
        return object
    }

    /// The raw value, nil when absent or JSON null.
    public func present(_ name: String) -> Value? {
        guard let value = values[name], !value.isNull else { return nil }
        return value
    }

    /// Copies the given fields, when present, into a request body unchanged.
    public func copy(_ names: [String], into body: inout [String: Value]) {
        for name in names { if let value = present(name) { body[name] = value } }
    }
}
