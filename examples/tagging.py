"""Cache tagging: invalidate every entry of a user at once."""

from cache.advanced import CacheTag
from cache.backend import InMemoryCache

cache = InMemoryCache()
tag_manager = CacheTag(cache)


def cached_post(post_id: int, author_id: int) -> str:
    key = tag_manager.tag_cache_key(f"post:{post_id}", {f"user:{author_id}", "posts"})
    value = cache.get(key)
    if value is None:
        value = f"post {post_id} by user {author_id} (rendered)"
        cache.set(key, value, timeout=300)
        print(f"  miss  post:{post_id} -> rendered and cached under {key}")
    else:
        print(f"  hit   post:{post_id}")
    return value


cached_post(456, author_id=123)
cached_post(789, author_id=999)
cached_post(456, author_id=123)
print("invalidate_tag('user:123'): one write, however many entries carry the tag")
tag_manager.invalidate_tag("user:123")
cached_post(456, author_id=123)  # miss: user 123's entries are gone
cached_post(789, author_id=999)  # hit: other users untouched
