// Package signup is a small application that creates a user and, in the
// same transaction, enqueues the welcome mail; signup_test.go shows how its
// tests check both with core/guetest, against a real PostgreSQL. Copy the
// test's shape into your own.
package signup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// WelcomeArgs are the welcome mail job's arguments.
type WelcomeArgs struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

// Mailer sends mail; the test gives a fake one.
type Mailer interface {
	Send(ctx context.Context, to, subject string) error
}

// ErrBadEmail is the signup of an address without an @.
var ErrBadEmail = errors.New("not an e-mail address")

// Signup creates the user and enqueues its welcome mail, atomically: a
// failed insert enqueues nothing, and a failed enqueue creates no user.
func Signup(ctx context.Context, pool adapter.ConnPool, c *gue.Client, email string) (userID int64, err error) {
	if !validEmail(email) {
		return 0, fmt.Errorf("signup %q: %w", email, ErrBadEmail)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = tx.QueryRow(ctx, `INSERT INTO users (email) VALUES ($1) RETURNING id`, email).Scan(&userID); err != nil {
		return 0, err
	}
	args, err := json.Marshal(WelcomeArgs{UserID: userID, Email: email})
	if err != nil {
		return 0, err
	}
	job := &gue.Job{Queue: "mail", Type: "welcome", Args: args, UniqueKey: fmt.Sprintf("welcome-%d", userID)}
	if err = c.EnqueueTx(ctx, job, tx); err != nil {
		return 0, err
	}
	return userID, tx.Commit(ctx)
}

// WorkMap returns the application's job handlers.
func WorkMap(m Mailer) gue.WorkMap {
	return gue.WorkMap{
		"welcome": func(j *gue.Job) error {
			var a WelcomeArgs
			if err := json.Unmarshal(j.Args, &a); err != nil {
				return fmt.Errorf("welcome args: %v: %w", err, gue.ErrDiscard) // retrying cannot help
			}
			return m.Send(j.Context(), a.Email, "Welcome!")
		},
	}
}

func validEmail(s string) bool {
	for _, r := range s {
		if r == '@' {
			return true
		}
	}
	return false
}
