import Testing
import WalletCrypto

@Suite("EIP-712 typed data")
struct TypedDataTests {
    @Test("Mail, Mail-with-arrays and TransferWithAuthorization match eth-account", arguments: Vectors.list("eip712"))
    func vectors(vector: JSONValue) throws {
        let id = vector["id"]?.s ?? "?"
        let td = try TypedData(json: vector["typedData"] ?? .null)
        #expect(try td.encodeType(td.primaryType) == vector["encodeType"]?.s, "vector \(id)")
        #expect(Hex.encode(try td.domainSeparator()) == vector["domainSeparator"]?.s, "vector \(id)")
        #expect(Hex.encode(try td.hashStruct(td.primaryType, td.message)) == vector["hashStruct"]?.s, "vector \(id)")
        #expect(Hex.encode(try td.digest()) == vector["digest"]?.s, "vector \(id)")
        let signature = try key(vector["private"]?.s ?? "").signTypedData(td)
        #expect(signature.hex == vector["signature"]?.s, "vector \(id)")
    }

    static func transfer(value: JSONValue, type: String = "uint256", extra: String = "") throws -> TypedData {
        let json = """
        {"types":{"EIP712Domain":[{"name":"chainId","type":"uint256"}],"T":[{"name":"v","type":"\(type)"}\(extra)]},
         "primaryType":"T","domain":{"chainId":1},"message":{"v":\(value.serialized())}}
        """
        return try TypedData(jsonData: Array(json.utf8))
    }

    @Test("integers are accepted as JSON numbers, decimal strings and 0x hex strings alike")
    func integerForms() throws {
        let a = try Self.transfer(value: .number("1000000")).digest()
        let b = try Self.transfer(value: "1000000").digest()
        let c = try Self.transfer(value: "0xf4240").digest()
        #expect(a == b)
        #expect(a == c)
    }

    @Test("uint256 max is accepted and 2^256 is out of range")
    func uintRange() throws {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        _ = try Self.transfer(value: .number(max)).digest()
        #expect(throws: WalletCryptoError.self) {
            try Self.transfer(value: .number("115792089237316195423570985008687907853269984665640564039457584007913129639936")).digest()
        }
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: .number("256"), type: "uint8").digest() }
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: .number("-1"), type: "uint8").digest() }
        _ = try Self.transfer(value: .number("255"), type: "uint8").digest()
    }

    @Test("intN accepts its two's-complement range and rejects one past it")
    func intRange() throws {
        _ = try Self.transfer(value: .number("-128"), type: "int8").digest()
        _ = try Self.transfer(value: .number("127"), type: "int8").digest()
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: .number("-129"), type: "int8").digest() }
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: .number("128"), type: "int8").digest() }
    }

    @Test("unknown types, missing fields and wrong fixed-array lengths are clear errors")
    func errors() throws {
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: 1, type: "uint7") }
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: 1, type: "Foo") }
        let missing = """
        {"types":{"EIP712Domain":[],"T":[{"name":"a","type":"string"},{"name":"b","type":"string"}]},"primaryType":"T","domain":{},"message":{"a":"x"}}
        """
        do {
            _ = try TypedData(jsonData: Array(missing.utf8)).digest()
            Issue.record("missing field accepted")
        } catch {
            #expect(error.description.contains("T.b is missing"))
        }
        #expect(throws: WalletCryptoError.self) {
            try Self.transfer(value: [1, 2, 3], type: "uint8[2]").digest()
        }
        _ = try Self.transfer(value: [1, 2], type: "uint8[2]").digest()
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: "not a number").digest() }
        #expect(throws: WalletCryptoError.self) { try Self.transfer(value: "0x1234", type: "bytes1").digest() }
    }
}
