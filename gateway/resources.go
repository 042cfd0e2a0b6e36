package gateway

import (
	"io"

	"github.com/labstack/echo/v4"
)

// readBody is the request body, whole (Echo's body limit bounds it).
func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, BadRequest("The request body could not be read: %v", err)
	}
	return body, nil
}
