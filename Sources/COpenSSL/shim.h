#ifndef VENICE_AGENT_COPENSSL_SHIM_H
#define VENICE_AGENT_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/hmac.h>

/* Prefixed wrappers that take void pointers, so Swift passes raw buffers without rebinding. */
static inline int venice_rand_bytes(void *buf, int len) {
    return RAND_bytes((unsigned char *)buf, len);
}
static inline void venice_cleanse(void *buf, size_t len) {
    OPENSSL_cleanse(buf, len);
}
static inline int venice_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len);
}
static inline int venice_pbkdf2_sha256(const void *pw, int pwlen, const void *salt, int saltlen,
                                       int iterations, void *out, int outlen) {
    return PKCS5_PBKDF2_HMAC((const char *)pw, pwlen, (const unsigned char *)salt, saltlen,
                             iterations, EVP_sha256(), outlen, (unsigned char *)out);
}
/* AES-128-CTR over len bytes; returns 1 on success. */
static inline int venice_aes128_ctr(const void *key16, const void *iv16, const void *in, int len, void *out) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, outl = 0, finl = 0;
    if (ctx == NULL) return 0;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, (const unsigned char *)key16, (const unsigned char *)iv16) == 1 &&
        EVP_EncryptUpdate(ctx, (unsigned char *)out, &outl, (const unsigned char *)in, len) == 1 &&
        EVP_EncryptFinal_ex(ctx, (unsigned char *)out + outl, &finl) == 1) {
        ok = (outl + finl == len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
/* AES-256-GCM seal: out = ciphertext (len bytes), tag16. Returns 1 on success. */
static inline int venice_aes256_gcm_seal(const void *key32, const void *nonce12, const void *aad, int aadlen,
                                         const void *in, int len, void *out, void *tag16) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, outl = 0, finl = 0;
    if (ctx == NULL) return 0;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key32, (const unsigned char *)nonce12) == 1 &&
        (aadlen == 0 || EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, aadlen) == 1) &&
        EVP_EncryptUpdate(ctx, (unsigned char *)out, &outl, (const unsigned char *)in, len) == 1 &&
        EVP_EncryptFinal_ex(ctx, (unsigned char *)out + outl, &finl) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag16) == 1) {
        ok = 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
/* AES-256-GCM open: returns 1 only if the tag verifies. */
static inline int venice_aes256_gcm_open(const void *key32, const void *nonce12, const void *aad, int aadlen,
                                         const void *in, int len, const void *tag16, void *out) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, outl = 0, finl = 0;
    if (ctx == NULL) return 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key32, (const unsigned char *)nonce12) == 1 &&
        (aadlen == 0 || EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, aadlen) == 1) &&
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &outl, (const unsigned char *)in, len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag16) == 1 &&
        EVP_DecryptFinal_ex(ctx, (unsigned char *)out + outl, &finl) == 1) {
        ok = 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
/* HMAC-SHA256 one-shot. */
static inline int venice_hmac_sha256(const void *key, int keylen, const void *data, size_t len, void *out32) {
    unsigned int outlen = 0;
    return HMAC(EVP_sha256(), key, keylen, (const unsigned char *)data, len, (unsigned char *)out32, &outlen) != NULL && outlen == 32;
}
#endif
