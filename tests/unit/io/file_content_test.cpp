// Tests of file sniffing: every documented signature from bytes, near misses that are text, and
// real files of the kinds hcmsn meets (weights, arrays, hcmsn files, images).
#include "hcmsn/io/file_content.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/io/npy.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

namespace fs = std::filesystem;

FileContent of(std::string_view bytes) {
  return sniff_bytes(bytes).content;
}

TEST(FileContent, SignaturesFromBytes) {
  EXPECT_EQ(of(""), FileContent::kEmpty);
  EXPECT_EQ(of(std::string_view("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16)), FileContent::kPng);
  EXPECT_EQ(of("\xFF\xD8\xFF\xE0\x00\x10JFIF"), FileContent::kJpeg);
  EXPECT_EQ(of("GIF89a\x01\x00"), FileContent::kGif);
  EXPECT_EQ(of("GIF87a"), FileContent::kGif);
  EXPECT_EQ(of(std::string_view("BM\x36\x00\x0C\x00\0\0\0\0\x36\0\0\0", 14)), FileContent::kBmp);
  EXPECT_EQ(of(std::string_view("RIFF\x24\0\0\0WEBPVP8 ", 16)), FileContent::kWebp);
  EXPECT_EQ(of(std::string_view("RIFF\x24\0\0\0WAVEfmt ", 16)), FileContent::kRiff);
  EXPECT_EQ(of(std::string_view("II*\0\x08\0\0\0", 8)), FileContent::kTiff);
  EXPECT_EQ(of(std::string_view("MM\0*\0\0\0\x08", 8)), FileContent::kTiff);
  EXPECT_EQ(of("\x93NUMPY\x01"), FileContent::kNpy);
  EXPECT_EQ(of("PK\x03\x04\x14"), FileContent::kZip);
  EXPECT_EQ(of("\x80\x02}q\x00"), FileContent::kPickle);
  EXPECT_EQ(of(std::string_view("\x10\0\0\0\0\0\0\0{\"a\":{}}", 16)), FileContent::kSafetensors);
  EXPECT_EQ(of("  \n{\"a\": 1}"), FileContent::kJson);
  EXPECT_EQ(of("\xEF\xBB\xBF[1, 2]"), FileContent::kJson);
  EXPECT_EQ(of("{\"a\": [1, 2"), FileContent::kJson);  // cut short at kSniffBytes
  EXPECT_EQ(of("{\"epoch\": 1}\n{\"epoch\": 2}\n"), FileContent::kJson);  // JSON Lines
  EXPECT_EQ(of("<!DOCTYPE html><html>"), FileContent::kHtml);
  EXPECT_EQ(of("\n<html lang=en>"), FileContent::kHtml);
  EXPECT_EQ(of("<svg xmlns=\"http://www.w3.org/2000/svg\">"), FileContent::kSvg);
  EXPECT_EQ(of("<?xml version=\"1.0\"?>\n<svg>"), FileContent::kSvg);
  EXPECT_EQ(of("<?xml version=\"1.0\"?>\n<note/>"), FileContent::kText);
  EXPECT_EQ(of("cat\ndog\n"), FileContent::kText);
  EXPECT_EQ(of("a\tb\r\n\x1B[1mbold\x1B[0m\n"), FileContent::kText);
  EXPECT_EQ(of("caf\xC3\xA9\n"), FileContent::kText);  // UTF-8 is text
  EXPECT_EQ(of(std::string_view("ab\0cd", 5)), FileContent::kBinary);
  EXPECT_EQ(of("\x01\x02\x03"), FileContent::kBinary);
}

TEST(FileContent, NearMissesAreText) {
  // "BM" opening a sentence is no bitmap: a BMP has 4 zero bytes at offset 6.
  EXPECT_EQ(of("BMW cars are\nnot images\n"), FileContent::kText);
  EXPECT_EQ(of("RIFF"), FileContent::kText);  // too short for a RIFF header
  EXPECT_EQ(of("PK is a label\n"), FileContent::kText);
  EXPECT_EQ(of("GIF88a\n"), FileContent::kText);
  // A leading bracket alone is no JSON: BERT's vocab.txt, a numbered note.
  EXPECT_EQ(of("[PAD]\n[unused0]\n"), FileContent::kText);
  EXPECT_EQ(of("[1] buy milk\n"), FileContent::kText);
  EXPECT_EQ(of("{ not json }\n"), FileContent::kText);
  // Text whose 9th byte is '{' has a huge "header length": not safetensors.
  EXPECT_EQ(of("abcdefgh{x}"), FileContent::kText);
  // The hcmsn magic with a nonsense kind length: an hcmsn file of unknown kind.
  const FileSniff bad_kind = sniff_bytes(std::string_view("\x89HCMSN\r\n\xFF\0\0\0", 12));
  EXPECT_EQ(bad_kind.content, FileContent::kHcmsn);
  EXPECT_EQ(bad_kind.hcmsn_kind, "");
}

TEST(FileContent, HcmsnFilesCarryTheirKind) {
  const std::string bytes = to_checked_bytes("gallery", 1, "payload");
  const FileSniff s = sniff_bytes(bytes);
  EXPECT_EQ(s.content, FileContent::kHcmsn);
  EXPECT_EQ(s.hcmsn_kind, "gallery");
  EXPECT_EQ(describe(s), "an hcmsn gallery file");
  // Only the head is needed; a cut before the end of the kind leaves the kind unknown.
  EXPECT_EQ(sniff_bytes(std::string_view(bytes).substr(0, 19)).hcmsn_kind, "gallery");
  EXPECT_EQ(sniff_bytes(std::string_view(bytes).substr(0, 14)).hcmsn_kind, "");
  EXPECT_EQ(peek_checked_kind("not hcmsn"), "");
}

TEST(FileContent, RealFiles) {
  const std::string dir = test::temp_dir("file_content");
  EXPECT_EQ(sniff_file(dir + "/missing").content, FileContent::kMissing);
  EXPECT_EQ(sniff_file(dir).content, FileContent::kFolder);
  std::ofstream(dir + "/empty.json").flush();
  EXPECT_EQ(sniff_file(dir + "/empty.json").content, FileContent::kEmpty);
  write_npy(dir + "/a.npy", torch::zeros({2, 3}));
  EXPECT_EQ(sniff_file(dir + "/a.npy").content, FileContent::kNpy);
  write_checked_file(dir + "/c.ckpt", "checkpoint", 1, std::string(10000, 'x'));
  EXPECT_EQ(sniff_file(dir + "/c.ckpt").hcmsn_kind, "checkpoint");
  fs::create_symlink(dir + "/a.npy", dir + "/link.json");
  EXPECT_EQ(sniff_file(dir + "/link.json").content, FileContent::kNpy);  // the target's content
  fs::create_symlink(dir + "/nowhere", dir + "/dangling");
  EXPECT_EQ(sniff_file(dir + "/dangling").content, FileContent::kMissing);

  EXPECT_EQ(sniff_file(test::fixture("state_dict/mixed.safetensors")).content,
            FileContent::kSafetensors);
  EXPECT_EQ(sniff_file(test::fixture("bert_tiny/model.safetensors")).content,
            FileContent::kSafetensors);
  EXPECT_EQ(sniff_file(test::fixture("state_dict/module.pth")).content, FileContent::kZip);
  EXPECT_EQ(sniff_file(test::fixture("npy/expected.json")).content, FileContent::kJson);
  EXPECT_EQ(sniff_file(test::fixture("bert_tiny/vocab.txt")).content, FileContent::kText);

  const std::string images = test::shared("weights/test_images/");
  if (fs::exists(images)) {
    EXPECT_EQ(sniff_file(images + "hot_dog.jpg").content, FileContent::kJpeg);
    EXPECT_EQ(sniff_file(images + "cat.bmp").content, FileContent::kBmp);
    EXPECT_EQ(sniff_file(test::shared("weights/mobilenet_v2_imagenet.pth")).content,
              FileContent::kZip);
  }
}

}  // namespace
}  // namespace hcmsn::io
