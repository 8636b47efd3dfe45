package media

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// TestDecodeBudgetRefusesWhenFull: with the budget taken (by decodes of
// other requests), a large picture waits DecodeWait and gets ErrBusy
// instead of decoding on top of them; once there is room, it decodes.
func TestDecodeBudgetRefusesWhenFull(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3000, 3000))); err != nil {
		t.Fatal(err)
	}
	pic := buf.Bytes()
	if err := decodeBudget.Acquire(context.Background(), DecodeBudget); err != nil {
		t.Fatal(err)
	}
	_, err := Process(context.Background(), pic)
	decodeBudget.Release(DecodeBudget)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Process with the budget taken = %v, want ErrBusy", err)
	}
	if _, err := Process(context.Background(), pic); err != nil {
		t.Fatalf("Process with room = %v", err)
	}
}

func TestDecodeCost(t *testing.T) {
	mid := int64(4 * MaxSide * MaxSide * 4)
	for _, tt := range []struct {
		name string
		cfg  image.Config
		want int64
	}{
		{"50 MP RGBA", image.Config{ColorModel: color.NRGBAModel, Width: 10000, Height: 5000}, 200_000_000 + mid},
		{"16-bit", image.Config{ColorModel: color.NRGBA64Model, Width: 1000, Height: 1000}, 8_000_000 + 4_000_000},
		{"gray", image.Config{ColorModel: color.GrayModel, Width: 100, Height: 100}, 10_000 + 40_000},
	} {
		if got := decodeCost(tt.cfg, "png", 1); got != tt.want {
			t.Errorf("%s: cost %d, want %d", tt.name, got, tt.want)
		}
	}
}
