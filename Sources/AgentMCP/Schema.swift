public import MCP

/// Small builders for the JSON Schemas of tool inputs (trimmed from Venice's OpenAPI spec,
/// `openapi.yaml`, to the fields an agent host needs).
public enum Schema {
    public static func object(_ properties: [String: Value], required: [String] = []) -> Value {
        var schema: [String: Value] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }

    public static func string(_ description: String, oneOf choices: [String]? = nil, defaultValue: String? = nil) -> Value {
        var schema: [String: Value] = ["type": "string", "description": .string(description)]
        if let choices { schema["enum"] = .array(choices.map { .string($0) }) }
        if let defaultValue { schema["default"] = .string(defaultValue) }
        return .object(schema)
    }

    public static func integer(_ description: String, minimum: Int? = nil, maximum: Int? = nil, defaultValue: Int? = nil) -> Value {
        var schema: [String: Value] = ["type": "integer", "description": .string(description)]
        if let minimum { schema["minimum"] = .int(minimum) }
        if let maximum { schema["maximum"] = .int(maximum) }
        if let defaultValue { schema["default"] = .int(defaultValue) }
        return .object(schema)
    }

    public static func number(_ description: String, minimum: Double? = nil, maximum: Double? = nil) -> Value {
        var schema: [String: Value] = ["type": "number", "description": .string(description)]
        if let minimum { schema["minimum"] = .double(minimum) }
        if let maximum { schema["maximum"] = .double(maximum) }
        return .object(schema)
    }

    public static func boolean(_ description: String) -> Value {
        ["type": "boolean", "description": .string(description)]
    }

    public static func array(_ description: String, items: Value) -> Value {
        ["type": "array", "description": .string(description), "items": items]
    }

    /// A value that may be a string or an array of strings (Venice's `input` fields).
    public static func stringOrStrings(_ description: String) -> Value {
        ["description": .string(description), "anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]]
    }

    /// The `save_to` folder every media tool takes.
    public static let saveTo = string("Absolute path of a folder to also save the file(s) in; their paths are returned.")
}
