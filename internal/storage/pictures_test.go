package storage_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// names are the filenames of pics.
func names(pics []storage.Picture) []string {
	out := make([]string, len(pics))
	for i, p := range pics {
		out[i] = p.Filename
	}
	return out
}

func TestSamplePicturesHaveTheirRows(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		got, err := s.Pictures(context.Background(), append(names(dbadmin.SamplePictures), "ffffffffffffffffffffffffffffffff.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]storage.Picture{}
		for _, p := range dbadmin.SamplePictures {
			want[p.Filename] = p
		}
		if !maps.Equal(got, want) {
			t.Errorf("sample pictures = %v\nwant %v (and nothing for a file without a row)", got, want)
		}
	})
}

// TestPictureRowsGoWithTheLastRowNamingTheirFile: the triggers of
// migration 0004 forget a picture when no user or post names it any more,
// and not before.
func TestPictureRowsGoWithTheLastRowNamingTheirFile(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		shared := storage.Picture{Filename: "00000000000000000000000000000001.jpg", Width: 640, Height: 480, Color: "#102030"}
		photo := storage.Picture{Filename: "00000000000000000000000000000002.png", Width: 10, Height: 20, Color: "#abcdef"}
		for _, p := range []storage.Picture{shared, photo} {
			if err := s.PutPicture(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		known := func(name string) bool {
			t.Helper()
			got, err := s.Pictures(ctx, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			return got[name].Filename == name
		}
		a, _ := s.CreatePost(ctx, "jag", shared.Filename)
		b, _ := s.CreatePost(ctx, "michjc", shared.Filename)
		if _, err := s.DeletePost(ctx, a, "jag"); err != nil || !known(shared.Filename) {
			t.Errorf("after deleting one of two posts of a picture: %v, row kept %v; want it kept", err, known(shared.Filename))
		}
		if _, err := s.DeletePost(ctx, b, "michjc"); err != nil || known(shared.Filename) {
			t.Errorf("after deleting the last post of a picture: %v, row kept %v; want it gone", err, known(shared.Filename))
		}

		// A new profile photo: the old one's row goes.
		old := dbadmin.SampleUsers[3].Filename // jag's
		if _, err := s.UpdateUser(ctx, "jag", "H.V. Jagadish", "jag@umich.edu", photo.Filename); err != nil || known(old) || !known(photo.Filename) {
			t.Errorf("after a new profile photo: %v; old row kept %v, new row kept %v; want old gone, new kept", err, known(old), known(photo.Filename))
		}
		// A user goes: their photo's and their posts' rows go.
		if _, err := s.DeleteUser(ctx, "awdeorio"); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{dbadmin.SampleUsers[0].Filename, dbadmin.SamplePosts[0].Filename, dbadmin.SamplePosts[2].Filename} {
			if known(n) {
				t.Errorf("%s's row outlived awdeorio", n)
			}
		}
		if !known(dbadmin.SamplePosts[1].Filename) {
			t.Errorf("jflinn's picture lost its row with awdeorio")
		}

		// Recording again replaces; DeletePictures forgets.
		photo.Color = "#000000"
		if err := s.PutPicture(ctx, photo); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Pictures(ctx, []string{photo.Filename}); got[photo.Filename] != photo {
			t.Errorf("after recording again: %+v, want %+v", got[photo.Filename], photo)
		}
		if err := s.DeletePictures(ctx, photo.Filename); err != nil || known(photo.Filename) {
			t.Errorf("DeletePictures: %v; row kept %v", err, known(photo.Filename))
		}
	})
}

func TestPutPictureRefusesNonsense(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		for _, p := range []storage.Picture{
			{Filename: "", Width: 1, Height: 1, Color: "#000000"},
			{Filename: "a.jpg", Width: 0, Height: 1, Color: "#000000"},
			{Filename: "a.jpg", Width: 1, Height: -1, Color: "#000000"},
			{Filename: "a.jpg", Width: 1, Height: 1, Color: "red"},
			{Filename: "a.jpg", Width: 1, Height: 1, Color: "#ABCDEF"},
		} {
			if err := s.PutPicture(context.Background(), p); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("PutPicture(%+v) = %v, want ErrInvalid", p, err)
			}
		}
	})
}
