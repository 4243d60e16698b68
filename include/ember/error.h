/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_ERROR_H
#define EMBER_ERROR_H

/*
 * The one error type of ember, shared by the daemon, the CLI and the client
 * library.
 *
 * It is owned by the caller (usually on the stack) and never allocates: a
 * function that fails fills it and returns a negative errno; a function that
 * succeeds leaves it alone. Messages read as a chain from the outermost
 * operation to the root cause, e.g.
 *
 *     create namespace "x": write meta/x/namespace.json: No space left on device
 *
 * `name` is the stable, machine-readable varlink error name
 * ("io.ember.NotFound", "org.varlink.service.MethodNotFound", ...), or the
 * empty string when the error never crossed the API and no component gave it
 * one. Programs should branch on `name` or `code`, never on `message`.
 */

#define EMBER_ERROR_NAME_MAX 96
#define EMBER_ERROR_MESSAGE_MAX 416

struct ember_error {
	int code;                              /* errno value, > 0 */
	char name[EMBER_ERROR_NAME_MAX];       /* varlink error name or "" */
	char message[EMBER_ERROR_MESSAGE_MAX]; /* human-readable, one line */
};

/* Stable error names used by the ember API. */
#define EMBER_ERROR_NOT_FOUND "io.ember.NotFound"
#define EMBER_ERROR_ALREADY_EXISTS "io.ember.AlreadyExists"
#define EMBER_ERROR_INVALID_ARGUMENT "io.ember.InvalidArgument"
#define EMBER_ERROR_FAILED_PRECONDITION "io.ember.FailedPrecondition"
#define EMBER_ERROR_PERMISSION_DENIED "io.ember.PermissionDenied"
#define EMBER_ERROR_RESOURCE_EXHAUSTED "io.ember.ResourceExhausted"
#define EMBER_ERROR_UNAVAILABLE "io.ember.Unavailable"
#define EMBER_ERROR_CANCELED "io.ember.Canceled"
#define EMBER_ERROR_INTERNAL "io.ember.Internal"
/* A container's command (or an exec's) could not be executed: code is
   ENOENT when it was not found, another errno (EACCES, ENOEXEC...) when it
   was found but cannot be run. `ember run` exits 127 or 126 for them. */
#define EMBER_ERROR_EXEC_FAILED "io.ember.ExecFailed"

/* Errors defined by the varlink protocol itself. */
#define EMBER_VARLINK_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define EMBER_VARLINK_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define EMBER_VARLINK_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define EMBER_VARLINK_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define EMBER_VARLINK_PERMISSION_DENIED "org.varlink.service.PermissionDenied"
#define EMBER_VARLINK_EXPECTED_MORE "org.varlink.service.ExpectedMore"

#endif
