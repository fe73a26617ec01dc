/// EIP-712 typed structured data, given as the standard JSON object
/// `{"types": …, "primaryType": …, "domain": …, "message": …}`.
public struct TypedData: Sendable {
    public struct Field: Sendable, Hashable {
        public let name: String
        public let type: String
    }

    public let types: [String: [Field]]
    public let primaryType: String
    public let domain: JSONObject
    public let message: JSONValue

    static let domainFieldOrder: [(String, String)] = [
        ("name", "string"), ("version", "string"), ("chainId", "uint256"),
        ("verifyingContract", "address"), ("salt", "bytes32"),
    ]

    public init(jsonData: some Collection<UInt8>) throws(WalletCryptoError) {
        try self.init(json: JSONValue(parsing: jsonData))
    }

    public init(json: JSONValue) throws(WalletCryptoError) {
        guard let root = json.objectValue else { throw .typedData("the top level must be a JSON object") }
        guard let typesObject = root["types"]?.objectValue else { throw .typedData("missing \"types\" object") }
        guard let domain = root["domain"]?.objectValue else { throw .typedData("missing \"domain\" object") }
        guard let message = root["message"], message.objectValue != nil else {
            throw .typedData("missing \"message\" object")
        }
        var types = [String: [Field]]()
        for (name, value) in typesObject {
            guard let list = value.arrayValue else { throw .typedData("types.\(name) must be an array of {name, type}") }
            var fields = [Field]()
            for entry in list {
                guard let fieldName = entry["name"]?.stringValue, let fieldType = entry["type"]?.stringValue else {
                    throw .typedData("types.\(name) has an entry without string \"name\" and \"type\"")
                }
                guard !fields.contains(where: { $0.name == fieldName }) else {
                    throw .typedData("types.\(name) declares field \"\(fieldName)\" twice")
                }
                fields.append(Field(name: fieldName, type: fieldType))
            }
            types[name] = fields
        }
        if types["EIP712Domain"] == nil {
            // Derive the domain type from the fields present, in the canonical order.
            types["EIP712Domain"] = Self.domainFieldOrder.compactMap { name, type in
                domain[name] == nil ? nil : Field(name: name, type: type)
            }
        }
        let primary: String
        if let declared = root["primaryType"] {
            guard let name = declared.stringValue else { throw .typedData("\"primaryType\" must be a string") }
            primary = name
        } else {
            primary = try Self.derivePrimaryType(types)
        }
        guard types[primary] != nil else { throw .typedData("primaryType \"\(primary)\" is not defined in types") }
        self.types = types
        self.primaryType = primary
        self.domain = domain
        self.message = message
        // Validate every referenced type up front so errors name the culprit early.
        for (name, fields) in types {
            for field in fields {
                try validateType(field.type, in: "\(name).\(field.name)")
            }
        }
    }

    static func derivePrimaryType(_ types: [String: [Field]]) throws(WalletCryptoError) -> String {
        let structs = Set(types.keys).subtracting(["EIP712Domain"])
        var referenced = Set<String>()
        for (_, fields) in types { for f in fields { referenced.insert(baseType(f.type)) } }
        let roots = structs.subtracting(referenced)
        guard roots.count == 1, let root = roots.first else {
            throw .typedData("no \"primaryType\" given and it cannot be derived (\(roots.count) candidate roots)")
        }
        return root
    }

    /// `Person[][3]` → `Person`.
    static func baseType(_ type: String) -> String {
        if let bracket = type.firstIndex(of: "[") { return String(type[..<bracket]) }
        return type
    }

    /// Splits the outermost array suffix: `T[2][]` → (`T[2]`, nil); `T[3]` → (`T`, 3).
    static func splitArray(_ type: String) -> (element: String, length: Int?)? {
        guard type.hasSuffix("]"), let open = type.lastIndex(of: "[") else { return nil }
        let inner = type[type.index(after: open)..<type.index(before: type.endIndex)]
        let element = String(type[..<open])
        if inner.isEmpty { return (element, nil) }
        guard let n = Int(inner), n >= 0, String(n) == inner else { return (element, -1) }
        return (element, n)
    }

    enum Atomic {
        case uint(Int), int(Int), bytesN(Int), address, bool, string, bytes
    }

    static func atomic(_ type: String) -> Atomic? {
        switch type {
        case "address": return .address
        case "bool": return .bool
        case "string": return .string
        case "bytes": return .bytes
        default: break
        }
        func bits(_ suffix: Substring) -> Int? {
            guard let n = Int(suffix), String(n) == suffix, n >= 8, n <= 256, n % 8 == 0 else { return nil }
            return n
        }
        if type.hasPrefix("uint"), let n = bits(type.dropFirst(4)) { return .uint(n) }
        if type.hasPrefix("int"), let n = bits(type.dropFirst(3)) { return .int(n) }
        if type.hasPrefix("bytes"), let n = Int(type.dropFirst(5)), String(n) == type.dropFirst(5), (1...32).contains(n) {
            return .bytesN(n)
        }
        return nil
    }

    func validateType(_ type: String, in context: String) throws(WalletCryptoError) {
        if let (element, length) = Self.splitArray(type) {
            if let length, length < 0 { throw .typedData("\(context): invalid array length in \"\(type)\"") }
            try validateType(element, in: context)
            return
        }
        if Self.atomic(type) != nil || types[type] != nil { return }
        throw .typedData("\(context): unknown type \"\(type)\"")
    }

    // MARK: Encoding

    /// `Name(type1 name1,…)` followed by the referenced structs sorted by name.
    public func encodeType(_ typeName: String) throws(WalletCryptoError) -> String {
        var deps = Set<String>()
        try collectDependencies(typeName, into: &deps)
        deps.remove(typeName)
        return try ([typeName] + deps.sorted()).map { name throws(WalletCryptoError) -> String in
            guard let fields = types[name] else { throw .typedData("unknown struct type \"\(name)\"") }
            return "\(name)(" + fields.map { "\($0.type) \($0.name)" }.joined(separator: ",") + ")"
        }.joined()
    }

    private func collectDependencies(_ typeName: String, into deps: inout Set<String>) throws(WalletCryptoError) {
        let base = Self.baseType(typeName)
        guard let fields = types[base] else {
            if Self.atomic(base) != nil { return }
            throw .typedData("unknown type \"\(base)\"")
        }
        guard deps.insert(base).inserted else { return }
        for field in fields { try collectDependencies(field.type, into: &deps) }
    }

    public func typeHash(_ typeName: String) throws(WalletCryptoError) -> [UInt8] {
        Keccak256.hash(try encodeType(typeName))
    }

    public func hashStruct(_ typeName: String, _ value: JSONValue) throws(WalletCryptoError) -> [UInt8] {
        Keccak256.hash(try encodeData(typeName, value, path: typeName))
    }

    func encodeData(_ typeName: String, _ value: JSONValue, path: String) throws(WalletCryptoError) -> [UInt8] {
        guard let fields = types[typeName] else { throw .typedData("unknown struct type \"\(typeName)\"") }
        guard let object = value.objectValue else { throw .typedData("\(path) must be an object of type \(typeName)") }
        var out = try typeHash(typeName)
        out.reserveCapacity(32 * (fields.count + 1))
        for field in fields {
            guard let fieldValue = object[field.name] else {
                throw .typedData("\(path).\(field.name) is missing (type \(field.type))")
            }
            out += try encodeField(field.type, fieldValue, path: "\(path).\(field.name)")
        }
        return out
    }

    func encodeField(_ type: String, _ value: JSONValue, path: String) throws(WalletCryptoError) -> [UInt8] {
        if let (element, length) = Self.splitArray(type) {
            guard let items = value.arrayValue else { throw .typedData("\(path) must be an array (\(type))") }
            if let length, items.count != length {
                throw .typedData("\(path) has \(items.count) elements but \(type) needs \(length)")
            }
            var concatenated = [UInt8]()
            for (i, item) in items.enumerated() {
                concatenated += try encodeField(element, item, path: "\(path)[\(i)]")
            }
            return Keccak256.hash(concatenated)
        }
        if types[type] != nil {
            return Keccak256.hash(try encodeData(type, value, path: path))
        }
        guard let atomic = Self.atomic(type) else { throw .typedData("\(path): unknown type \"\(type)\"") }
        switch atomic {
        case .bool:
            guard let b = value.boolValue else { throw .typedData("\(path) must be true or false") }
            var word = [UInt8](repeating: 0, count: 32)
            word[31] = b ? 1 : 0
            return word
        case .address:
            guard let s = value.stringValue else { throw .typedData("\(path) must be an address string") }
            do {
                return [UInt8](repeating: 0, count: 12) + (try EthereumAddress(s)).bytes
            } catch {
                throw .typedData("\(path): \(error.description)")
            }
        case .string:
            guard let s = value.stringValue else { throw .typedData("\(path) must be a string") }
            return Keccak256.hash(s)
        case .bytes:
            return Keccak256.hash(try hexBytes(value, path: path))
        case .bytesN(let n):
            let raw = try hexBytes(value, path: path)
            guard raw.count <= n else { throw .typedData("\(path) has \(raw.count) bytes, more than bytes\(n) holds") }
            return raw + [UInt8](repeating: 0, count: 32 - raw.count)
        case .uint(let bits):
            let word = try integer(value, path: path, type: type)
            guard word.fitsUnsigned(bits: bits) else { throw .typedData("\(path) is out of range for \(type)") }
            return word.encoded
        case .int(let bits):
            let word = try integer(value, path: path, type: type)
            guard word.fitsSigned(bits: bits) else { throw .typedData("\(path) is out of range for \(type)") }
            return word.encoded
        }
    }

    private func hexBytes(_ value: JSONValue, path: String) throws(WalletCryptoError) -> [UInt8] {
        guard let s = value.stringValue, s.hasPrefix("0x") || s.hasPrefix("0X") else {
            throw .typedData("\(path) must be a 0x-prefixed hex string")
        }
        do { return try Hex.decode(s) } catch { throw .typedData("\(path): \(error.description)") }
    }

    private func integer(_ value: JSONValue, path: String, type: String) throws(WalletCryptoError) -> Word256 {
        do {
            return try Word256.parse(value)
        } catch .tooLarge {
            throw .typedData("\(path) is out of range for \(type)")
        } catch {
            throw .typedData("\(path) must be an integer (JSON number, decimal string or 0x hex string) for \(type)")
        }
    }

    public func domainSeparator() throws(WalletCryptoError) -> [UInt8] {
        try hashStruct("EIP712Domain", .object(domain))
    }

    /// keccak(0x19 0x01 || domainSeparator || hashStruct(message)).
    public func digest() throws(WalletCryptoError) -> [UInt8] {
        var preimage: [UInt8] = [0x19, 0x01]
        preimage += try domainSeparator()
        if primaryType != "EIP712Domain" {
            preimage += try hashStruct(primaryType, message)
        }
        return Keccak256.hash(preimage)
    }
}
