import ArgumentParser
import WalletCrypto

/// `venice-agent key …`: keystore management and signing, mirroring `cast wallet`.
struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, import and use encrypted keystores (like `cast wallet`).",
        subcommands: [New.self, Import.self, Address.self, SignMessage.self, SignTypedData.self]
    )
}

extension Key {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new random key in a new keystore; prints its address.")
        @OptionGroup var keystore: KeystoreOption
        @OptionGroup var password: PasswordOption
        @Option(name: .customLong("scrypt-n"), help: "scrypt cost N (power of two).")
        var scryptN: Int = Keystore.defaultScryptN

        func run() throws {
            try KeyCommands.run {
                let pw = try KeyCommands.password(password.passwordFile, confirm: true)
                let key = PrivateKey.generate()
                try KeyCommands.save(key, to: keystore.keystore, password: pw, scryptN: scryptN)
                print(key.address.checksummed)
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a 0x-hex private key read from standard input into a new keystore; prints its address.",
            discussion: "The key is never accepted as an argument. An existing keystore is never overwritten."
        )
        @OptionGroup var keystore: KeystoreOption
        @OptionGroup var password: PasswordOption
        @Option(name: .customLong("scrypt-n"), help: "scrypt cost N (power of two).")
        var scryptN: Int = Keystore.defaultScryptN

        func run() throws {
            try KeyCommands.run {
                try KeyCommands.refuseExisting(keystore.keystore)
                let key = try KeyCommands.readPrivateKeyFromStdin()
                let pw = try KeyCommands.password(password.passwordFile, confirm: true)
                try KeyCommands.save(key, to: keystore.keystore, password: pw, scryptN: scryptN)
                print(key.address.checksummed)
            }
        }
    }

    struct Address: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the EIP-55 address of a keystore.")
        @OptionGroup var keystore: KeystoreOption
        @OptionGroup var password: PasswordOption

        func run() throws {
            try KeyCommands.run {
                let json = try SecureFile.read(keystore.keystore)
                if let address = try Keystore.address(inKeystore: json) {
                    print(address.checksummed)
                } else {
                    // Files without an "address" field need the password to tell.
                    let pw = try KeyCommands.password(password.passwordFile, confirm: false)
                    print(try Keystore.decrypt(json, password: pw).address.checksummed)
                }
            }
        }
    }

    struct SignMessage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-message",
            abstract: "EIP-191 personal_sign of the raw bytes on standard input; prints 0x + 130 hex."
        )
        @OptionGroup var keystore: KeystoreOption
        @OptionGroup var password: PasswordOption

        func run() throws {
            try KeyCommands.run {
                let message = try KeyCommands.readStdin(limit: 16 << 20)
                let key = try KeyCommands.unlock(keystore.keystore, password.passwordFile)
                print(key.signPersonalMessage(message).hex)
            }
        }
    }

    struct SignTypedData: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-typed-data",
            abstract: "EIP-712 signature of the typed-data JSON on standard input; prints 0x + 130 hex."
        )
        @OptionGroup var keystore: KeystoreOption
        @OptionGroup var password: PasswordOption

        func run() throws {
            try KeyCommands.run {
                let typed = try TypedData(jsonData: KeyCommands.readStdin(limit: 1 << 20))
                let key = try KeyCommands.unlock(keystore.keystore, password.passwordFile)
                print(try key.signTypedData(typed).hex)
            }
        }
    }
}
