import Foundation
import WalletCrypto

/// Loads `Vectors/protocols.json` (PROTOCOLS.md vectors, re-checked against eth-account).
enum Vectors {
    static let root: JSONValue = {
        guard let url = Bundle.module.url(forResource: "protocols", withExtension: "json", subdirectory: "Vectors"),
              let data = try? Data(contentsOf: url),
              let value = try? JSONValue(parsing: Array(data)) else {
            return .null
        }
        return value
    }()

    static func list(_ name: String) -> [JSONValue] { root[name]?.arrayValue ?? [] }

    static func bytes(_ hex: String?) -> [UInt8] { (try? Hex.decode(hex ?? "")) ?? [] }
}

extension JSONValue {
    var s: String { stringValue ?? "" }
}

func key(_ hex: String) throws -> PrivateKey {
    try Hex.decode(hex).withUnsafeBytes { try PrivateKey(bytes: $0) }
}
