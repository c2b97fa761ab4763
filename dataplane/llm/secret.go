package llm

import (
	"fmt"
	"os"
	"strings"
)

// KeyFile returns a function that reads an API key from a mounted Secret file on every call,
// so a rotated Secret takes effect without a reload. secret names the Secret in errors
// ("ns/name key Authorization"); the key itself never appears in an error. A leading
// "Bearer " is removed, as is surrounding whitespace.
func KeyFile(secret, path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				return "", fmt.Errorf("secret %s: not mounted at %s", secret, path)
			}
			return "", fmt.Errorf("secret %s: cannot read %s", secret, path)
		}
		key := strings.TrimSpace(string(b))
		key = strings.TrimSpace(strings.TrimPrefix(key, "Bearer "))
		if key == "" {
			return "", fmt.Errorf("secret %s: empty value at %s", secret, path)
		}
		return key, nil
	}
}
