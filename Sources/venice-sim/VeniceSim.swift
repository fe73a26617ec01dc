import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import VeniceSimulator

/// `venice-sim`: a local Venice API on loopback for tests and the offline demo.
@main
struct VeniceSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venice-sim",
        abstract: "Run a local Venice API simulator (routes under /api/v1).",
        discussion: "Top-ups pay to the simulator's fixed receiver \(SimulatorConfiguration.basePayTo) (Base USDC)."
    )

    @Option(help: "Address to listen on (loopback unless you say otherwise).") var host = "127.0.0.1"
    @Option(help: "Port; 0 picks a free one (see --port-file).") var port = 0
    @Option(help: "Write the bound port to this file (atomically) once listening.") var portFile: String?
    @Option(name: .customLong("fund"), help: "Initial wallet credit, ADDRESS=USD (repeatable).") var funds: [String] = []
    @Option(name: .customLong("diem"), help: "DIEM (USD) of the Venice account linked to a wallet, ADDRESS=USD (repeatable): spent first by its signed-in requests and by its minted keys.") var diem: [String] = []
    @Option(help: "The next N key mints are refused with 'Could not verify wallet signature'.") var web3VerifyFailures = 0
    @Option(help: "Top-up payload layout refused with 400 INVALID_PAYMENT: none, withAccepted, withoutAccepted or both (an assumption; Venice does not document it).")
    var topUpRejectedLayout = "none"
    @Option(name: .customLong("staked-wallet"), help: "Wallet with staked VVV, may mint keys (repeatable).") var stakedWallets: [String] = []
    @Option(name: .customLong("admin-key"), help: "Pre-provisioned ADMIN Bearer key (repeatable).") var adminKeys: [String] = []
    @Option(name: .customLong("inference-key"), help: "Pre-provisioned INFERENCE Bearer key (repeatable).") var inferenceKeys: [String] = []
    @Option(help: "Latency added to every request, milliseconds.") var latencyMs = 0
    @Option(help: "Injected failures, STATUS=RATE,… e.g. 429=0.1,500=0.05.") var failRate: String?
    @Option(help: "Share of responses cut mid-body (0…1).") var resetRate = 0.0
    @Option(help: "Seconds added to the server clock (SIWE checks and Date).") var clockOffsetS: Int64 = 0
    @Option(help: "In-flight requests per wallet.") var concurrencyLimit = 5
    @Option(help: "Queued audio processing time, milliseconds.") var audioProcessingMs: Int64 = 1_500
    @Flag(help: "Do not log one line per request.") var quiet = false

    func validate() throws {
        _ = try parsedFunds()
        _ = try Self.parsedAmounts(diem, flag: "--diem")
        guard web3VerifyFailures >= 0 else { throw ValidationError("--web3-verify-failures must be 0 or more") }
        guard FaultKnobs.TopUpLayoutRejection(rawValue: topUpRejectedLayout) != nil else {
            throw ValidationError("--top-up-rejected-layout takes none, withAccepted, withoutAccepted or both")
        }
        _ = try parsedFailRates()
        guard (0...1).contains(resetRate) else { throw ValidationError("--reset-rate must be between 0 and 1") }
        guard concurrencyLimit >= 1 else { throw ValidationError("--concurrency-limit must be at least 1") }
    }

    func parsedFunds() throws -> [String: Double] { try Self.parsedAmounts(funds, flag: "--fund") }

    static func parsedAmounts(_ entries: [String], flag: String) throws -> [String: Double] {
        var result: [String: Double] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].hasPrefix("0x"), parts[0].count == 42, let usd = Double(parts[1]), usd >= 0, usd <= 1_000_000 else {
                throw ValidationError("\(flag) takes ADDRESS=USD with USD from 0 to 1000000, e.g. 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266=25")
            }
            result[String(parts[0]).lowercased(), default: 0] += usd
        }
        return result
    }

    func parsedFailRates() throws -> [Int: Double] {
        guard let failRate, !failRate.isEmpty else { return [:] }
        var result: [Int: Double] = [:]
        for entry in failRate.split(separator: ",") {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let status = Int(parts[0]), [429, 500, 502, 503, 504].contains(status),
                  let rate = Double(parts[1]), (0...1).contains(rate) else {
                throw ValidationError("--fail-rate takes STATUS=RATE pairs (status 429, 500, 502, 503 or 504; rate 0…1), e.g. 429=0.1,500=0.05")
            }
            result[status] = rate
        }
        return result
    }

    func run() async throws {
        var configuration = SimulatorConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.funds = try parsedFunds()
        configuration.stakedWallets = stakedWallets
        configuration.diemUSD = try Self.parsedAmounts(diem, flag: "--diem")
        configuration.faults.web3VerifyFailures = web3VerifyFailures
        configuration.faults.topUpRejectedLayout = FaultKnobs.TopUpLayoutRejection(rawValue: topUpRejectedLayout) ?? .none
        configuration.adminKeys = adminKeys
        configuration.inferenceKeys = inferenceKeys
        configuration.faults.latencyMilliseconds = latencyMs
        configuration.faults.failRates = try parsedFailRates()
        configuration.faults.resetRate = resetRate
        configuration.faults.clockOffsetSeconds = clockOffsetS
        configuration.concurrencyLimit = concurrencyLimit
        configuration.audioProcessingMilliseconds = audioProcessingMs
        configuration.logRequests = !quiet
        let logger = Logger(label: "venice-sim")
        let portFile = self.portFile
        let host = self.host
        let app = try buildSimulator(configuration: configuration, logger: logger) { port in
            logger.info("venice-sim listening on http://\(host):\(port)/api/v1")
            if let portFile { PortFile.write(port: port, to: portFile, logger: logger) }
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
