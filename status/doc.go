// Package status holds the close status codes of RFC 6455 §7.4 and the
// encoding of a close frame's payload (§5.5.1).
//
// # Codes
//
// [Code] is a typed integer with a constant for every registered code.
// [Code.IsValid] reports whether a code may be sent on the wire; it accepts
// exactly what websocket-client accepts: 1000-1003, 1007-1014 and
// 3000-4999.
//
// # Close payloads
//
// A close frame's payload is empty, or a 2-byte big-endian code followed by
// a UTF-8 reason of at most 123 bytes. [AppendClose] encodes one and
// [ParseClose] decodes and checks one. [CloseError] carries the peer's code
// and reason once a connection has been closed.
//
// # Python names
//
// STATUS_NORMAL is [NormalClosure], STATUS_GOING_AWAY [GoingAway],
// STATUS_PROTOCOL_ERROR [ProtocolError], STATUS_UNSUPPORTED_DATA_TYPE
// [UnsupportedData], STATUS_STATUS_NOT_AVAILABLE [NoStatusReceived],
// STATUS_ABNORMAL_CLOSED [AbnormalClosure], STATUS_INVALID_PAYLOAD
// [InvalidPayload], STATUS_POLICY_VIOLATION [PolicyViolation],
// STATUS_MESSAGE_TOO_BIG [MessageTooBig], STATUS_INVALID_EXTENSION
// [MandatoryExtension], STATUS_UNEXPECTED_CONDITION [InternalError],
// STATUS_SERVICE_RESTART [ServiceRestart], STATUS_TRY_AGAIN_LATER
// [TryAgainLater], STATUS_BAD_GATEWAY [BadGateway] and
// STATUS_TLS_HANDSHAKE_ERROR [TLSHandshake]. VALID_CLOSE_STATUS together
// with the 3000-4999 range is [Code.IsValid].
package status
