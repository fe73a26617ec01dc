internal import COpenSSL

/// PBKDF2-HMAC-SHA256 through OpenSSL.
enum PBKDF2 {
    static func sha256(password: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, iterations: Int,
                       into out: UnsafeMutableRawBufferPointer) throws(WalletCryptoError) {
        let empty: [UInt8] = [0]
        let ok = empty.withUnsafeBytes { placeholder in
            venice_pbkdf2_sha256(password.baseAddress ?? placeholder.baseAddress, Int32(password.count),
                                 salt.baseAddress ?? placeholder.baseAddress, Int32(salt.count),
                                 Int32(iterations), out.baseAddress, Int32(out.count))
        }
        guard ok == 1 else { throw .cryptoFailure("PKCS5_PBKDF2_HMAC") }
    }

    static func sha256(password: UnsafeRawBufferPointer, salt: [UInt8], iterations: Int,
                       into out: UnsafeMutableRawBufferPointer) throws(WalletCryptoError) {
        let ok = salt.withUnsafeBytes { s in
            (try? sha256(password: password, salt: s, iterations: iterations, into: out)) != nil
        }
        guard ok else { throw .cryptoFailure("PKCS5_PBKDF2_HMAC") }
    }
}

/// AES-128-CTR (keystore v3 cipher) and AES-256-GCM (AEAD for secrets the agent stores).
public enum SymmetricCipher {
    static func aes128ctr(key: UnsafeRawBufferPointer, iv: [UInt8], input: UnsafeRawBufferPointer,
                          output: UnsafeMutableRawBufferPointer) throws(WalletCryptoError) {
        guard key.count >= 16, iv.count == 16, output.count == input.count, input.count > 0 else {
            throw .cryptoFailure("AES-128-CTR needs a 16-byte key and IV and a non-empty input")
        }
        let ok = iv.withUnsafeBytes { ivp in
            venice_aes128_ctr(key.baseAddress, ivp.baseAddress, input.baseAddress, Int32(input.count), output.baseAddress)
        }
        guard ok == 1 else { throw .cryptoFailure("AES-128-CTR") }
    }

    /// AES-256-GCM seal: returns nonce(12) || ciphertext || tag(16).
    public static func seal(_ plaintext: [UInt8], key: SecretBytes, associatedData: [UInt8] = []) throws(WalletCryptoError) -> [UInt8] {
        guard key.count == 32 else { throw .invalidLength(what: "an AES-256-GCM key", expected: "32", actual: key.count) }
        let nonce = SecureRandom.bytes(count: 12)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let ok = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                associatedData.withUnsafeBytes { aad in
                    plaintext.withUnsafeBytes { p in
                        ciphertext.withUnsafeMutableBytes { c in
                            tag.withUnsafeMutableBytes { t in
                                venice_aes256_gcm_seal(k.baseAddress, n.baseAddress, aad.baseAddress, Int32(aad.count),
                                                       p.baseAddress, Int32(p.count), c.baseAddress, t.baseAddress)
                            }
                        }
                    }
                }
            }
        }
        guard ok == 1 else { throw .cryptoFailure("AES-256-GCM seal") }
        return nonce + ciphertext + tag
    }

    /// AES-256-GCM open of `nonce || ciphertext || tag`; the plaintext comes back as `SecretBytes`.
    public static func open(_ sealed: [UInt8], key: SecretBytes, associatedData: [UInt8] = []) throws(WalletCryptoError) -> SecretBytes {
        guard key.count == 32 else { throw .invalidLength(what: "an AES-256-GCM key", expected: "32", actual: key.count) }
        guard sealed.count >= 28 else { throw .cryptoFailure("sealed box shorter than nonce and tag") }
        let nonce = Array(sealed[0..<12])
        let body = Array(sealed[12..<(sealed.count - 16)])
        let tag = Array(sealed[(sealed.count - 16)...])
        let out = SecretBytes(count: body.count)
        let ok = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                associatedData.withUnsafeBytes { aad in
                    body.withUnsafeBytes { c in
                        tag.withUnsafeBytes { t in
                            out.withUnsafeMutableBytes { p in
                                venice_aes256_gcm_open(k.baseAddress, n.baseAddress, aad.baseAddress, Int32(aad.count),
                                                       c.baseAddress, Int32(c.count), t.baseAddress, p.baseAddress)
                            }
                        }
                    }
                }
            }
        }
        guard ok == 1 else { throw .cryptoFailure("AES-256-GCM authentication failed (wrong key or tampered data)") }
        return out
    }

    /// HMAC-SHA256 (e.g. to derive per-purpose keys from the wallet key).
    public static func hmacSHA256(key: UnsafeRawBufferPointer, data: [UInt8]) throws(WalletCryptoError) -> SecretBytes {
        let out = SecretBytes(count: 32)
        let ok = data.withUnsafeBytes { d in
            out.withUnsafeMutableBytes { o in
                venice_hmac_sha256(key.baseAddress, Int32(key.count), d.baseAddress, d.count, o.baseAddress)
            }
        }
        guard ok != 0 else { throw .cryptoFailure("HMAC-SHA256") }
        return out
    }
}
